import Foundation
import Network
import Records

/// Why a forward client could not talk to the server.
public enum ForwardClientError: Error, CustomStringConvertible {
    case closed(while: String)
    case unexpectedReply(expected: String)
    case refused(String)
    case serverDigestMismatch

    public var description: String {
        switch self {
        case .closed(let step): return "the server closed the connection while \(step)"
        case .unexpectedReply(let expected): return "expected \(expected), got something else"
        case .refused(let reason): return "the server refused the handshake: \(reason)"
        case .serverDigestMismatch: return "the server's PONG digest does not match: it does not know the shared key"
        }
    }
}

/// The client end of a forward connection, plain or TLS, with the shared-key
/// handshake: what `shipper cat` sends with, and a client for testing an input.
public final class ForwardClient {
    private let stream: any ByteStream
    private var pending: [UInt8] = []
    private let decoder = MessagePackDecoder(maxLength: 1 << 20, maxDepth: 16)

    /// Connects to `host:port`, with TLS when `tls` is given.
    public init(host: String, port: UInt16, tls: TLSClientContext? = nil) throws {
        let socket = try StreamSocket.connect(host: host, port: port)
        do {
            stream = try tls?.connect(socket, host: host) ?? socket
        } catch {
            socket.shutdown()
            throw error
        }
    }

    deinit {
        stream.shutdown()
    }

    /// Runs the client side of the handshake (HELO, PING, PONG) as the
    /// Forward protocol defines it, and checks that the server knows the key too.
    public func authenticate(sharedKey: String, hostname: String, username: String = "", password: String = "") throws {
        guard case .array(let helo) = try nextReply(while: "waiting for HELO"), helo.count == 2, helo[0].textValue == "HELO",
              case .map(let options) = helo[1],
              let nonce = options.first(where: { $0.key.textValue == "nonce" })?.value.rawBytes else {
            throw ForwardClientError.unexpectedReply(expected: "HELO with a nonce")
        }
        let authSalt = options.first { $0.key.textValue == "auth" }?.value.rawBytes ?? []
        let salt = ForwardHandshake.randomBytes(16)
        let host = Array(hostname.utf8)
        let digest = ForwardHandshake.sha512Hex(salt + host + nonce + Array(sharedKey.utf8))
        let passwordDigest = username.isEmpty ? "" : ForwardHandshake.sha512Hex(authSalt + Array(username.utf8) + Array(password.utf8))
        try send(MessagePackEncoder.encoded(.array([.string("PING"), .string(host), .binary(salt), .string(Array(digest.utf8)),
                                                     .string(Array(username.utf8)), .string(Array(passwordDigest.utf8))])))
        guard case .array(let pong) = try nextReply(while: "waiting for PONG"), pong.count == 5, pong[0].textValue == "PONG" else {
            throw ForwardClientError.unexpectedReply(expected: "PONG")
        }
        guard case .bool(true) = pong[1] else { throw ForwardClientError.refused(pong[2].textValue ?? "no reason given") }
        let serverHost = pong[3].stringBytes ?? []
        let expected = ForwardHandshake.sha512Hex(salt + serverHost + nonce + Array(sharedKey.utf8))
        guard ForwardHandshake.sameDigest(pong[4].stringBytes ?? [], expected) else { throw ForwardClientError.serverDigestMismatch }
    }

    public func send(_ bytes: [UInt8]) throws {
        try stream.write(bytes)
    }

    /// The next msgpack value the server sends (an ack, HELO, PONG).
    public func nextReply(while step: String = "waiting for an answer") throws -> MessagePackValue {
        var buffer = [UInt8](repeating: 0, count: 4096)
        while true {
            if !pending.isEmpty {
                var scanner = MessagePackScanner(limitsOf: decoder)
                if let length = try pending.withUnsafeBufferPointer({ try scanner.scan($0) }) {
                    let value = try decoder.decode(Array(pending[0..<length]))
                    pending.removeFirst(length)
                    return value
                }
            }
            let n = try buffer.withUnsafeMutableBytes { try stream.read(into: $0) }
            guard n > 0 else { throw ForwardClientError.closed(while: step) }
            pending += buffer[0..<n]
        }
    }
}
