import COpenSSL
import Foundation
import Records

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
    ///
    /// A refused client gets `["PONG", false, reason, "", ""]`, as Fluentd
    /// answers: the server's digest covers the shared key, so sending it to
    /// a client that has not proved it knows the key would let anyone guess
    /// the key offline. Digests are compared in constant time.
    func answer(_ ping: MessagePackValue, session: Session) -> (pong: [UInt8], accepted: Bool, reason: String) {
        var reason = ""
        var salt: [UInt8] = []
        if case .array(let parts) = ping, parts.count == 6, parts[0].textValue == "PING",
           let hostname = parts[1].stringBytes, let sharedKeySalt = parts[2].rawBytes, let digest = parts[3].stringBytes,
           let user = parts[4].textValue, let passwordDigest = parts[5].stringBytes {
            salt = sharedKeySalt
            if !Self.sameDigest(digest, Self.sha512Hex(sharedKeySalt + hostname + session.nonce + Array(sharedKey.utf8))) {
                reason = "shared key mismatch"
            } else if !users.isEmpty {
                let password = users[user] ?? ""
                let expected = Self.sha512Hex(session.authSalt + Array(user.utf8) + Array(password.utf8))
                // An unknown user costs the same comparison as a wrong password.
                if !(Self.sameDigest(passwordDigest, expected) && users[user] != nil) {
                    reason = "username/password mismatch"
                }
            }
        } else {
            reason = "expected a PING message"
        }
        let accepted = reason.isEmpty
        var encoder = MessagePackEncoder()
        if accepted {
            let serverDigest = Self.sha512Hex(salt + Array(selfHostname.utf8) + session.nonce + Array(sharedKey.utf8))
            encoder.encode(.array([.string("PONG"), .bool(true), .string(""), .string(selfHostname), .string(serverDigest)]))
        } else {
            encoder.encode(.array([.string("PONG"), .bool(false), .string(reason), .string(""), .string("")]))
        }
        return (encoder.bytes, accepted, reason)
    }

    /// Whether the digest a client sent is `expected`, in time that does not depend on where they differ.
    static func sameDigest(_ given: [UInt8], _ expected: String) -> Bool {
        let expected = Array(expected.utf8)
        guard given.count == expected.count else { return false }
        return given.withUnsafeBytes { a in expected.withUnsafeBytes { b in CRYPTO_memcmp(a.baseAddress, b.baseAddress, a.count) == 0 } }
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
