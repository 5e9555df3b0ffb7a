import COpenSSL
import Foundation

/// The Forward protocol's optional authentication: HELO with a nonce (and a
/// salt when users are configured), the client's PING with SHA-512 digests of
/// the shared key (and its user's password), and the server's PONG.
public struct ForwardHandshake: Sendable {
    /// `Shared_Key`.
    public var sharedKey: String
    /// `Self_Hostname`: the name the server gives in PONG.
    public var selfHostname: String
    /// `Security.Users`: user name to password; empty means no user authentication.
    public var users: [String: String]

    public init(sharedKey: String, selfHostname: String, users: [String: String] = [:]) {
        self.sharedKey = sharedKey
        self.selfHostname = selfHostname
        self.users = users
    }

    /// One connection's secrets for the exchange.
    struct Session {
        let nonce: [UInt8]
        let authSalt: [UInt8]
    }

    func newSession() -> Session {
        Session(nonce: Self.randomBytes(16), authSalt: users.isEmpty ? [] : Self.randomBytes(16))
    }

    /// `["HELO", {"nonce": …, "auth": …, "keepalive": true}]`.
    func helo(_ session: Session) -> [UInt8] {
        var encoder = MessagePackEncoder()
        encoder.encode(.array([.string("HELO"), .map([
            MessagePackPair(key: .string("nonce"), value: .binary(session.nonce)),
            MessagePackPair(key: .string("auth"), value: .binary(session.authSalt)),
            MessagePackPair(key: .string("keepalive"), value: .bool(true)),
        ])]))
        return encoder.bytes
    }

    /// Checks a PING; returns the PONG to send and whether the client may go on.
    func answer(_ ping: MessagePackValue, session: Session) -> (pong: [UInt8], accepted: Bool, reason: String) {
        var reason = ""
        var salt: [UInt8] = []
        if case .array(let parts) = ping, parts.count == 6, parts[0].textValue == "PING",
           let hostname = parts[1].stringBytes, let sharedKeySalt = bytes(parts[2]), let digest = parts[3].textValue,
           let user = parts[4].textValue, let passwordDigest = parts[5].textValue {
            salt = sharedKeySalt
            if digest != Self.sha512Hex(sharedKeySalt + hostname + session.nonce + Array(sharedKey.utf8)) {
                reason = "shared key mismatch"
            } else if !users.isEmpty {
                if let password = users[user], passwordDigest == Self.sha512Hex(session.authSalt + Array(user.utf8) + Array(password.utf8)) {
                    reason = ""
                } else {
                    reason = "username/password mismatch"
                }
            }
        } else {
            reason = "expected a PING message"
        }
        let accepted = reason.isEmpty
        let serverDigest = Self.sha512Hex(salt + Array(selfHostname.utf8) + session.nonce + Array(sharedKey.utf8))
        var encoder = MessagePackEncoder()
        encoder.encode(.array([.string("PONG"), .bool(accepted), .string(reason), .string(selfHostname), .string(serverDigest)]))
        return (encoder.bytes, accepted, reason)
    }

    private func bytes(_ value: MessagePackValue) -> [UInt8]? {
        switch value {
        case .string(let b), .binary(let b): return b
        default: return nil
        }
    }

    static func sha512(_ data: [UInt8]) -> [UInt8] {
        var digest = [UInt8](repeating: 0, count: Int(SHA512_DIGEST_LENGTH))
        data.withUnsafeBufferPointer { _ = SHA512($0.baseAddress, $0.count, &digest) }
        return digest
    }

    static func sha512Hex(_ data: [UInt8]) -> String {
        sha512(data).map { String(format: "%02x", $0) }.joined()
    }

    static func randomBytes(_ count: Int) -> [UInt8] {
        var bytes = [UInt8](repeating: 0, count: count)
        if RAND_bytes(&bytes, Int32(count)) != 1 {
            for i in bytes.indices { bytes[i] = UInt8.random(in: 0...255) }
        }
        return bytes
    }
}
