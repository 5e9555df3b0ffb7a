import Foundation
#if canImport(FoundationNetworking)
import FoundationNetworking
#endif
import Ingest

/// One event of a PutLogEvents call.
public struct InputLogEvent: Sendable {
    /// Milliseconds since the Unix epoch.
    public var timestamp: Int64
    /// UTF-8 message bytes.
    public var message: [UInt8]
}

/// What a successful PutLogEvents answered.
public struct PutLogEventsResult: Sendable {
    public var nextSequenceToken: String?
    /// Present when the service refused some events (too old, too new, expired).
    public var rejectedInfo: [String: Int]
}

/// The CloudWatch Logs JSON 1.1 API over HTTP(S), SigV4-signed.
///
/// Uses `URLSession` (FoundationNetworking on Linux), which builds on Windows
/// too; one session per client keeps connections alive between calls.
public final class CloudWatchLogsClient: Sendable {
    public let endpoint: URL
    let signer: SigV4Signer
    let credentials: any CredentialsProvider
    private let session: URLSession

    public init(endpoint: URL, region: String, credentials: any CredentialsProvider, timeout: TimeInterval = 30) {
        self.endpoint = endpoint
        self.signer = SigV4Signer(region: region, service: "logs")
        self.credentials = credentials
        let configuration = URLSessionConfiguration.ephemeral
        configuration.timeoutIntervalForRequest = timeout
        configuration.httpMaximumConnectionsPerHost = 64
        self.session = URLSession(configuration: configuration)
    }

    public func createLogGroup(_ group: String) async throws {
        _ = try await call("CreateLogGroup", body: Self.object(["logGroupName": group]))
    }

    public func createLogStream(group: String, stream: String) async throws {
        _ = try await call("CreateLogStream", body: Self.object(["logGroupName": group, "logStreamName": stream]))
    }

    /// Sends one batch; the caller guarantees the batch rules (order, size, count, span).
    public func putLogEvents(group: String, stream: String, events: [InputLogEvent], sequenceToken: String? = nil) async throws -> PutLogEventsResult {
        var body: [UInt8] = []
        body.reserveCapacity(events.reduce(128) { $0 + $1.message.count + 40 })
        body.append(contentsOf: #"{"logGroupName":"#.utf8)
        RecordJSON.appendString(Array(group.utf8), to: &body)
        body.append(contentsOf: #","logStreamName":"#.utf8)
        RecordJSON.appendString(Array(stream.utf8), to: &body)
        if let sequenceToken {
            body.append(contentsOf: #","sequenceToken":"#.utf8)
            RecordJSON.appendString(Array(sequenceToken.utf8), to: &body)
        }
        body.append(contentsOf: #","logEvents":["#.utf8)
        for (i, event) in events.enumerated() {
            if i > 0 { body.append(UInt8(ascii: ",")) }
            body.append(contentsOf: #"{"timestamp":"#.utf8)
            body.append(contentsOf: String(event.timestamp).utf8)
            body.append(contentsOf: #","message":"#.utf8)
            RecordJSON.appendString(event.message, to: &body)
            body.append(UInt8(ascii: "}"))
        }
        body.append(contentsOf: "]}".utf8)
        let answer = try await call("PutLogEvents", body: body)
        var rejected: [String: Int] = [:]
        if let info = answer["rejectedLogEventsInfo"] as? [String: Any] {
            for (key, value) in info { if let index = value as? Int { rejected[key] = index } }
        }
        return PutLogEventsResult(nextSequenceToken: answer["nextSequenceToken"] as? String, rejectedInfo: rejected)
    }

    private static func object(_ fields: [String: String]) -> [UInt8] {
        var body: [UInt8] = [UInt8(ascii: "{")]
        for (i, key) in fields.keys.sorted().enumerated() {
            if i > 0 { body.append(UInt8(ascii: ",")) }
            RecordJSON.appendString(Array(key.utf8), to: &body)
            body.append(UInt8(ascii: ":"))
            RecordJSON.appendString(Array(fields[key, default: ""].utf8), to: &body)
        }
        body.append(UInt8(ascii: "}"))
        return body
    }

    /// Signs and sends one API call; returns the decoded JSON object of a 2xx answer.
    private func call(_ operation: String, body: [UInt8]) async throws -> [String: Any] {
        let keys: AWSCredentials
        do {
            keys = try await credentials.credentials()
        } catch {
            throw CloudWatchError(operation: operation, kind: .credentials("\(error)"))
        }
        let amzDate = SigV4Signer.amzDate(Date())
        let target = "Logs_20140328.\(operation)"
        let contentType = "application/x-amz-json-1.1"
        var host = endpoint.host ?? ""
        if let port = endpoint.port { host += ":\(port)" }
        var headers: [(name: String, value: String)] = [
            ("Content-Type", contentType), ("Host", host), ("X-Amz-Date", amzDate), ("X-Amz-Target", target),
        ]
        if let token = keys.sessionToken { headers.append(("X-Amz-Security-Token", token)) }
        let authorization = signer.authorization(headers: headers, body: body, credentials: keys, amzDate: amzDate)

        var request = URLRequest(url: endpoint)
        request.httpMethod = "POST"
        for header in headers where header.name != "Host" { request.setValue(header.value, forHTTPHeaderField: header.name) }
        request.setValue(authorization, forHTTPHeaderField: "Authorization")
        request.httpBody = Data(body)

        let data: Data
        let response: URLResponse
        do {
            (data, response) = try await session.data(for: request)
        } catch {
            throw CloudWatchError(operation: operation, kind: .transport(error.localizedDescription))
        }
        let status = (response as? HTTPURLResponse)?.statusCode ?? 0
        let json = (try? JSONSerialization.jsonObject(with: data)) as? [String: Any]
        if (200..<300).contains(status) {
            return json ?? [:]
        }
        if let json, let rawType = (json["__type"] as? String) ?? (json["code"] as? String) {
            let type = rawType.split(separator: "#").last.map(String.init) ?? rawType
            let message = (json["message"] as? String) ?? (json["Message"] as? String) ?? ""
            throw CloudWatchError(operation: operation, kind: .service(type: type, message: message, status: status))
        }
        throw CloudWatchError(operation: operation, kind: .badResponse(status: status, body: String(decoding: data, as: UTF8.self)))
    }
}
