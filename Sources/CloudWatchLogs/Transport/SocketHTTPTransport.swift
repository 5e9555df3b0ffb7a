import Foundation
import Network

/// HTTP/1.1 over the Network target's sockets and OpenSSL: the transport of
/// every CloudWatch call, except for an endpoint the environment sends through a
/// proxy (`ProxyEnvironment`), which goes through `URLSession`.
///
/// Why not `URLSession` for all: FoundationNetworking (libcurl underneath)
/// leaves about one call in 200 with its body unsent on Linux, each waiting out
/// the stall timeout (measured in the soak test: 3-5 of 960 calls), and on
/// Windows it is reported to stop sending any request past one socket-buffer
/// fill, about 64 KB (swift-corelibs-foundation issue 5532), where a
/// PutLogEvents body reaches 1 MiB.
///
/// One connection per call (`Connection: close`), as before: nothing is kept
/// that an endpoint or a load balancer could close under the next call. A call
/// has its patience (`HTTPTransport.patience`: the stall timeout plus a
/// second per 256 KiB of body) for all of it: connecting, the TLS handshake,
/// sending, and the answer. The blocking exchange runs on a thread of its own
/// (delivery has at most 8 calls out: `DeliverySlots`); cancelling the task
/// shuts the socket down, and reads wait in ticks, so a stop never waits for a
/// call's patience.
final class SocketHTTPTransport: HTTPTransport, Sendable {
    /// Nil for plain http.
    private let tls: TLSClientContext?
    private let stallTimeout: TimeInterval

    /// How often a read looks at the call's deadline and cancellation.
    static let tick = 0.25
    /// The most of an answer kept: CloudWatch's are a few hundred bytes.
    static let maxAnswerBytes = 1 << 20

    /// `verifyTLS` false: an https endpoint's certificate is not checked (`tls.verify Off`).
    init(scheme: String, verifyTLS: Bool, stallTimeout: TimeInterval) throws {
        tls = scheme.lowercased() == "https" ? try TLSClientContext(caFile: nil, verify: verifyTLS) : nil
        self.stallTimeout = stallTimeout
    }

    func post(_ url: URL, headers: [(name: String, value: String)], body: Data) async throws -> HTTPResponse {
        let call = OutstandingCall()
        return try await withTaskCancellationHandler {
            try await withCheckedThrowingContinuation { continuation in
                let thread = Thread {
                    // Named from inside, in at most 15 bytes (Linux drops a longer name). Foundation may not know this
                    // thread yet and then misses the name; the long-lived threads are named again once started,
                    // which this short one cannot be: it may have ended by then.
                    Thread.current.name = "cloudwatch-call"
                    continuation.resume(with: Result { try self.exchange(url, headers: headers, body: body, call: call) })
                }
                thread.stackSize = 256 * 1024
                thread.start()
            }
        } onCancel: {
            call.cancel()
        }
    }

    private func exchange(_ url: URL, headers: [(name: String, value: String)], body: Data, call: OutstandingCall) throws -> HTTPResponse {
        guard let host = url.host?.trimmingCharacters(in: CharacterSet(charactersIn: "[]")), !host.isEmpty else {
            throw TransportError(operation: "POST \(url.absoluteString)", reason: "the URL has no host")
        }
        let port = UInt16(url.port ?? (tls == nil ? 80 : 443))
        let patience = Self.patience(bodyBytes: body.count, stallTimeout: stallTimeout)
        let deadline = Date().addingTimeInterval(patience)
        let operation = "POST \(url.absoluteString)"
        do {
            let socket = try StreamSocket.connect(host: host, port: port, timeout: min(stallTimeout, patience)) { call.isCancelled }
            defer { socket.shutdown() }
            try call.attach(socket)
            socket.setSendTimeout(patience)
            var stream: any ByteStream = socket
            if let tls {
                // OpenSSL reads the socket itself during the handshake: the system's timeout bounds it,
                // then the reads' ticks take over (Windows keeps SO_RCVTIMEO, so it is cleared).
                socket.setHandshakeReceiveTimeout(max(0.001, deadline.timeIntervalSinceNow))
                stream = try tls.connect(socket, host: host)
                socket.setHandshakeReceiveTimeout(0)
            }
            try stream.write(Self.request(url, headers: headers, body: body))
            return try readAnswer(stream, until: deadline, call: call, operation: operation)
        } catch let error as SocketError {
            throw call.isCancelled ? TransportError(operation: operation, reason: "cancelled") : TransportError(operation: operation, reason: "\(error)")
        } catch let error as TLSError {
            throw TransportError(operation: operation, reason: "\(error)")
        } catch let error as HTTPResponseParser.Malformed {
            throw TransportError(operation: operation, reason: "\(error)")
        }
    }

    /// The request line, the headers (`Host` among them), the length, and the body, as one write:
    /// a head and a body written apart would wait for the head's ack (Nagle's algorithm).
    static func request(_ url: URL, headers: [(name: String, value: String)], body: Data) -> [UInt8] {
        let path = URLComponents(url: url, resolvingAgainstBaseURL: false)?.percentEncodedPath ?? ""
        var head = "POST \(path.isEmpty ? "/" : path) HTTP/1.1\r\n"
        for header in headers { head += "\(header.name): \(header.value)\r\n" }
        head += "Content-Length: \(body.count)\r\nConnection: close\r\n\r\n"
        var bytes = Array(head.utf8)
        bytes.reserveCapacity(bytes.count + body.count)
        bytes.append(contentsOf: body)
        return bytes
    }

    /// Reads until the answer is whole or the connection ends, in ticks, giving up at `deadline`.
    private func readAnswer(_ stream: any ByteStream, until deadline: Date, call: OutstandingCall, operation: String) throws -> HTTPResponse {
        stream.setReceiveTimeout(Self.tick)
        var received: [UInt8] = []
        var buffer = [UInt8](repeating: 0, count: 64 * 1024)
        while !HTTPResponseParser.isComplete(received) {
            guard Date() < deadline else {
                throw TransportError(operation: operation, reason: "no whole answer within \(String(format: "%.1f", stallTimeout)) s (stalled)")
            }
            if call.isCancelled { throw TransportError(operation: operation, reason: "cancelled") }
            let n: Int
            do {
                n = try buffer.withUnsafeMutableBytes { try stream.read(into: $0) }
            } catch let error as SocketError where error.isTimeout {
                continue
            }
            if n == 0 { break }
            received.append(contentsOf: buffer[0..<n])
            guard received.count <= Self.maxAnswerBytes else {
                throw TransportError(operation: operation, reason: "an answer of more than \(Self.maxAnswerBytes) bytes")
            }
        }
        return try HTTPResponseParser.parse(received)
    }
}

/// Why a call through `SocketHTTPTransport` got no answer.
struct TransportError: Error, CustomStringConvertible {
    let operation: String
    let reason: String
    var description: String { "\(operation): \(reason)" }
}

/// The socket of a call in progress, for cancelling it from another task.
// Safe to share: `lock` guards `socket` and `cancelled`.
private final class OutstandingCall: @unchecked Sendable {
    private let lock = NSLock()
    private var socket: StreamSocket?
    private var cancelled = false

    /// Keeps the connected socket; throws if the call was cancelled meanwhile.
    func attach(_ connected: StreamSocket) throws {
        lock.lock()
        defer { lock.unlock() }
        guard !cancelled else { throw TransportError(operation: "connect \(connected.peer)", reason: "cancelled") }
        socket = connected
    }

    /// Shuts the call's socket down: a blocked send or read returns (on Windows reads wait in ticks).
    func cancel() {
        lock.lock()
        cancelled = true
        let current = socket
        lock.unlock()
        current?.shutdown()
    }

    var isCancelled: Bool {
        lock.lock()
        defer { lock.unlock() }
        return cancelled
    }
}
