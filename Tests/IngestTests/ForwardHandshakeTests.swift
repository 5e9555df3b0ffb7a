import XCTest
@testable import Ingest
import Records

final class ForwardHandshakeTests: XCTestCase {
    private let handshake = ForwardHandshake(sharedKey: "s3cret", selfHostname: "shipper.test")

    private func ping(key: String, session: ForwardHandshake.Session) -> MessagePackValue {
        let salt = Array("salt".utf8)
        let digest = ForwardHandshake.sha512Hex(salt + Array("client".utf8) + session.nonce + Array(key.utf8))
        return .array([.string("PING"), .string(Array("client".utf8)), .binary(salt), .string(Array(digest.utf8)), .string(""), .string("")])
    }

    func testARefusedClientGetsNoDigestToGuessTheKeyFrom() throws {
        let session = handshake.newSession()
        let (pong, accepted, reason) = handshake.answer(ping(key: "guess", session: session), session: session)
        XCTAssertFalse(accepted)
        XCTAssertEqual(reason, "shared key mismatch")
        XCTAssertEqual(try MessagePackDecoder().decode(pong), .array([.string("PONG"), .bool(false), .string("shared key mismatch"), .string(""), .string("")]))
    }

    func testAnAcceptedClientGetsTheServersDigest() throws {
        let session = handshake.newSession()
        let (pong, accepted, _) = handshake.answer(ping(key: "s3cret", session: session), session: session)
        XCTAssertTrue(accepted)
        guard case .array(let parts) = try MessagePackDecoder().decode(pong), parts.count == 5 else { return XCTFail("not a PONG") }
        let expected = ForwardHandshake.sha512Hex(Array("salt".utf8) + Array("shipper.test".utf8) + session.nonce + Array("s3cret".utf8))
        XCTAssertEqual(parts[3], .string(Array("shipper.test".utf8)))
        XCTAssertEqual(parts[4], .string(Array(expected.utf8)))
    }

    func testDigestsCompareWholeAndByLength() {
        XCTAssertTrue(ForwardHandshake.sameDigest(Array("abc".utf8), "abc"))
        XCTAssertFalse(ForwardHandshake.sameDigest(Array("abd".utf8), "abc"))
        XCTAssertFalse(ForwardHandshake.sameDigest(Array("ab".utf8), "abc"))
        XCTAssertFalse(ForwardHandshake.sameDigest([], "abc"))
    }
}
