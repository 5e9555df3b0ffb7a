import Foundation
#if canImport(FoundationNetworking)
import FoundationNetworking
#endif

/// An HTTP answer: status, headers (lower-cased names) and body.
struct HTTPResponse: Sendable {
    var status: Int
    var headers: [String: String]
    var body: Data
}

/// How the CloudWatch client's POSTs travel. A protocol so that `tls.verify Off`
/// (test endpoints with self-signed certificates) can use its own transport
/// while every other endpoint goes through `URLSession`.
protocol HTTPTransport: Sendable {
    func post(_ url: URL, headers: [(name: String, value: String)], body: Data) async throws -> HTTPResponse
}

/// `URLSession` (FoundationNetworking on Linux, which builds on Windows too):
/// connection reuse, proxies and the system's certificate store.
struct URLSessionTransport: HTTPTransport {
    let session: URLSession

    /// `timeout` is URLSession's idle timeout: the longest wait for the next byte.
    /// A dead connection (seen with resets on reused connections) fails after it
    /// and the batch is retried; an upload that keeps moving is not cut off.
    init(timeout: TimeInterval) {
        let configuration = URLSessionConfiguration.ephemeral
        configuration.timeoutIntervalForRequest = timeout
        configuration.httpMaximumConnectionsPerHost = 64
        session = URLSession(configuration: configuration)
    }

    func post(_ url: URL, headers: [(name: String, value: String)], body: Data) async throws -> HTTPResponse {
        var request = URLRequest(url: url)
        request.httpMethod = "POST"
        for header in headers where header.name != "Host" { request.setValue(header.value, forHTTPHeaderField: header.name) }
        request.httpBody = body
        let (data, response) = try await session.data(for: request)
        let http = response as? HTTPURLResponse
        var fields: [String: String] = [:]
        for (name, value) in http?.allHeaderFields ?? [:] {
            if let name = name as? String, let value = value as? String { fields[name.lowercased()] = value }
        }
        return HTTPResponse(status: http?.statusCode ?? 0, headers: fields, body: data)
    }
}
