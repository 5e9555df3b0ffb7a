import Foundation
#if canImport(FoundationNetworking)
import FoundationNetworking
#endif
import Network

/// The CloudWatch Logs JSON 1.1 API over HTTP(S), SigV4-signed.
///
/// Calls travel over the Network target's sockets and OpenSSL
/// (`SocketHTTPTransport`), or through `URLSession` when the environment names
/// a proxy for the endpoint (`ProxyEnvironment`).
public final class CloudWatchLogsClient: Sendable {
    public let endpoint: URL
    let signer: SigV4Signer
    let credentials: any CredentialsProvider
    private let transport: any HTTPTransport
    /// The service's clock minus ours, learned from a clock-skew error, added to every signing time.
    private let clockOffset = ClockOffset()

    /// `stallTimeout` is how long a call may go without an answer before it is
    /// given up as stalled and retried on a fresh connection (plus time for a
    /// large body: `HTTPTransport.patience`). With `verifyTLS` false an
    /// https endpoint's certificate is not checked.
    public init(endpoint: URL, region: String, credentials: any CredentialsProvider, stallTimeout: TimeInterval = CloudWatchLogsClient.defaultStallTimeout,
                verifyTLS: Bool = true) throws {
        self.endpoint = endpoint
        self.signer = SigV4Signer(region: region, service: "logs")
        self.credentials = credentials
        if verifyTLS && ProxyEnvironment.proxy(for: endpoint, environment: ProcessInfo.processInfo.environment) != nil {
            transport = URLSessionTransport(stallTimeout: stallTimeout)
        } else {
            transport = try SocketHTTPTransport(scheme: endpoint.scheme ?? "https", verifyTLS: verifyTLS, stallTimeout: stallTimeout)
        }
    }

    /// 5 s: CloudWatch answers in well under a second; a call silent for this
    /// long is stuck, and its stream's records should not wait 10 s for it.
    public static let defaultStallTimeout: TimeInterval = 5

    public func createLogGroup(_ group: String, groupClass: String? = nil, tags: [String: String] = [:]) async throws {
        var fields = ["logGroupName": group]
        if let groupClass { fields["logGroupClass"] = groupClass }
        var body = RequestBody.object(fields)
        if !tags.isEmpty {
            body.removeLast()
            body.append(contentsOf: #","tags":"#.utf8)
            body.append(contentsOf: RequestBody.object(tags))
            body.append(UInt8(ascii: "}"))
        }
        _ = try await call("CreateLogGroup", body: Data(body))
    }

    /// The upload sequence token of one stream, for services that still require tokens
    /// and answered `InvalidSequenceTokenException` without saying which one they expect.
    public func uploadSequenceToken(group: String, stream: String) async throws -> String? {
        let answer = try await call("DescribeLogStreams", body: Data(RequestBody.object(["logGroupName": group, "logStreamNamePrefix": stream])))
        let streams = answer["logStreams"] as? [[String: Any]] ?? []
        return streams.first { $0["logStreamName"] as? String == stream }?["uploadSequenceToken"] as? String
    }

    public func putRetentionPolicy(group: String, days: Int) async throws {
        var body = RequestBody.object(["logGroupName": group])
        body.removeLast()
        body.append(contentsOf: #","retentionInDays":\#(days)}"#.utf8)
        _ = try await call("PutRetentionPolicy", body: Data(body))
    }

    public func createLogStream(group: String, stream: String) async throws {
        _ = try await call("CreateLogStream", body: Data(RequestBody.object(["logGroupName": group, "logStreamName": stream])))
    }

    /// Sends one batch; the caller guarantees the batch rules (order, size, count, span).
    /// Takes the events: they are encoded into the request body and let go
    /// before the call waits on the network, so a batch is not held twice
    /// for the length of a round trip (eight streams upload side by side).
    public func putLogEvents(group: String, stream: String, events: consuming [InputLogEvent], sequenceToken: String? = nil) async throws -> PutLogEventsResult {
        let body = RequestBody.putLogEvents(group: group, stream: stream, events: events, sequenceToken: sequenceToken)
        _ = consume events
        let answer = try await call("PutLogEvents", body: body)
        var rejected: [String: Int] = [:]
        if let info = answer["rejectedLogEventsInfo"] as? [String: Any] {
            for (key, value) in info { if let index = value as? Int { rejected[key] = index } }
        }
        return PutLogEventsResult(nextSequenceToken: answer["nextSequenceToken"] as? String, rejectedInfo: rejected)
    }

    /// An HTTP `Date` header (RFC 7231: `Tue, 15 Nov 1994 08:12:31 GMT`).
    static func parseHTTPDate(_ text: String) -> Date? {
        let formatter = DateFormatter()
        formatter.locale = Locale(identifier: "en_US_POSIX")
        formatter.timeZone = TimeZone(secondsFromGMT: 0)
        formatter.dateFormat = "EEE, dd MMM yyyy HH:mm:ss zzz"
        return formatter.date(from: text)
    }

    /// The `Host` header for `endpoint`, as the request line's authority: an IPv6
    /// address in brackets, the port when the URL names one.
    static func hostHeader(_ endpoint: URL) -> String {
        var host = endpoint.host ?? ""
        if host.contains(":") && !host.hasPrefix("[") { host = "[\(host)]" }
        if let port = endpoint.port { host += ":\(port)" }
        return host
    }

    /// Signs and sends one API call; returns the decoded JSON object of a 2xx answer.
    private func call(_ operation: String, body: Data) async throws -> [String: Any] {
        let keys: AWSCredentials
        do {
            keys = try await credentials.credentials()
        } catch {
            throw CloudWatchError(operation: operation, kind: .credentials("\(error)"))
        }
        let amzDate = SigV4Signer.amzDate(Date().addingTimeInterval(clockOffset.seconds))
        let target = "Logs_20140328.\(operation)"
        let contentType = "application/x-amz-json-1.1"
        var headers: [(name: String, value: String)] = [
            ("Content-Type", contentType), ("Host", Self.hostHeader(endpoint)), ("X-Amz-Date", amzDate), ("X-Amz-Target", target),
        ]
        if let token = keys.sessionToken { headers.append(("X-Amz-Security-Token", token)) }
        let path = URLComponents(url: endpoint, resolvingAgainstBaseURL: false)?.percentEncodedPath ?? "/"
        let authorization = signer.authorization(path: path, headers: headers, body: body, credentials: keys, amzDate: amzDate)

        headers.append(("Authorization", authorization))

        let response: HTTPResponse
        do {
            response = try await transport.post(endpoint, headers: headers, body: body)
        } catch let error as TransportError {
            throw CloudWatchError(operation: operation, kind: .transport(error.reason))
        } catch {
            throw CloudWatchError(operation: operation, kind: .transport(error.localizedDescription))
        }
        let status = response.status
        let data = response.body
        let json = (try? JSONSerialization.jsonObject(with: data)) as? [String: Any]
        if (200..<300).contains(status) {
            return json ?? [:]
        }
        if let json, let rawType = (json["__type"] as? String) ?? (json["code"] as? String) {
            let type = rawType.split(separator: "#").last.map(String.init) ?? rawType
            let message = (json["message"] as? String) ?? (json["Message"] as? String) ?? ""
            let error = CloudWatchError(operation: operation, kind: .service(type: type, message: message, status: status),
                                        expectedSequenceToken: json["expectedSequenceToken"] as? String)
            if error.isClockSkew, let serverDate = response.headers["date"].flatMap(Self.parseHTTPDate) {
                clockOffset.seconds = serverDate.timeIntervalSinceNow
            }
            if error.isCredentialsRejected { await credentials.invalidate() }
            throw error
        }
        throw CloudWatchError(operation: operation, kind: .badResponse(status: status, body: String(decoding: data, as: UTF8.self)))
    }
}
