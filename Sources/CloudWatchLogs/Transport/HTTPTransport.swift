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

/// How the CloudWatch client's POSTs travel: `SocketHTTPTransport`, or
/// `URLSessionTransport` for an endpoint behind a proxy.
protocol HTTPTransport: Sendable {
    func post(_ url: URL, headers: [(name: String, value: String)], body: Data) async throws -> HTTPResponse
}

extension HTTPTransport {
    /// How long a call with a body of `bytes` may take before it is given up as
    /// stalled: `stallTimeout`, plus time to send the body at a slow 256 KiB/s.
    static func patience(bodyBytes bytes: Int, stallTimeout: TimeInterval) -> TimeInterval {
        stallTimeout + Double(bytes) / 262_144
    }
}

/// `URLSession` (FoundationNetworking, libcurl underneath), for an endpoint the
/// environment sends through a proxy (`ProxyEnvironment`): libcurl speaks to it.
///
/// A call that hears nothing for its patience (`stallTimeout`, plus time to
/// send its body at a slow 256 KiB/s) is given up as stalled, well before a
/// generic 10 s timeout: CloudWatch answers in a fraction of a second, and a
/// stream's records wait for as long as its call hangs. After any failure
/// without an answer (a stall, a refused connection) the session is replaced.
///
/// Every call asks for `Connection: close`: one connection per call. When the
/// endpoint closed a kept connection (a reset, a load balancer's idle
/// timeout), libcurl under FoundationNetworking silently resends the request
/// on a new connection but cannot rewind the body it already streamed, so the
/// resent request stops mid-body and waits out the timeout (measured: a reset
/// cost 5.2 s, the whole stall timeout; the endpoint sees a truncated body).
/// Without reuse a reset is an immediate "empty reply" and retried at once
/// (0.3 s). The price is a TCP (and TLS) handshake per batch.
// Safe to share: `lock` guards `session`; a URLSession itself is thread-safe.
final class URLSessionTransport: HTTPTransport, @unchecked Sendable {
    private let configuration: URLSessionConfiguration
    private let stallTimeout: TimeInterval
    private let lock = NSLock()
    private var session: URLSession

    init(stallTimeout: TimeInterval) {
        let configuration = URLSessionConfiguration.ephemeral
        configuration.timeoutIntervalForRequest = stallTimeout
        configuration.httpMaximumConnectionsPerHost = 64
        self.configuration = configuration
        self.stallTimeout = stallTimeout
        session = URLSession(configuration: configuration)
    }

    func post(_ url: URL, headers: [(name: String, value: String)], body: Data) async throws -> HTTPResponse {
        var request = URLRequest(url: url)
        request.httpMethod = "POST"
        request.timeoutInterval = Self.patience(bodyBytes: body.count, stallTimeout: stallTimeout)
        for header in headers where header.name != "Host" { request.setValue(header.value, forHTTPHeaderField: header.name) }
        request.setValue("close", forHTTPHeaderField: "Connection")
        request.httpBody = body
        let current = currentSession()
        let data: Data
        let response: URLResponse
        do {
            (data, response) = try await current.data(for: request)
        } catch {
            replace(current)
            throw error
        }
        let http = response as? HTTPURLResponse
        var fields: [String: String] = [:]
        for (name, value) in http?.allHeaderFields ?? [:] {
            if let name = name as? String, let value = value as? String { fields[name.lowercased()] = value }
        }
        return HTTPResponse(status: http?.statusCode ?? 0, headers: fields, body: data)
    }

    private func currentSession() -> URLSession {
        lock.lock()
        defer { lock.unlock() }
        return session
    }

    /// Replaces `failed` with a new session (once, however many calls failed on it);
    /// the calls still running on the old one finish there.
    ///
    /// The old session is invalidated only `retiredSessionLifetime` later: a call that
    /// took it as current just before the replacement may not have created its task
    /// yet, and FoundationNetworking stops the process (`fatalError("Session
    /// invalidated")` in `URLSession.dataTask`) for a task made on an invalidated session.
    private func replace(_ failed: URLSession) {
        lock.lock()
        defer { lock.unlock() }
        guard session === failed else { return }
        session = URLSession(configuration: configuration)
        DispatchQueue.global().asyncAfter(deadline: .now() + Self.retiredSessionLifetime) { failed.finishTasksAndInvalidate() }
    }

    /// How long a replaced session still takes new tasks: far longer than the moment between
    /// a call taking the current session and creating its task on it.
    static let retiredSessionLifetime = 10.0
}
