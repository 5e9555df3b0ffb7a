import Foundation
import XCTest
@testable import Network

/// `StreamSocket.connect(host:port:timeout:cancelled:)`, the CloudWatch transport's
/// connect: it ends at a listener, at a refusal, at its timeout, or when cancelled.
final class TimedConnectTests: XCTestCase {
    func testItConnectsToAListenerAndTheSocketBlocksAgain() throws {
        let listener = try StreamSocket.listen(host: "127.0.0.1", port: 0)
        let client = try StreamSocket.connect(host: "127.0.0.1", port: listener.localPort, timeout: 5) { false }
        XCTAssertTrue(listener.isReadable(within: 5))
        let server = try XCTUnwrap(try listener.accept())
        try server.write(Array("answer".utf8))
        var buffer = [UInt8](repeating: 0, count: 16)
        // A blocking read waits for the bytes rather than failing with "would block".
        let count = try buffer.withUnsafeMutableBytes { try client.read(into: $0) }
        XCTAssertEqual(Array(buffer[0..<count]), Array("answer".utf8))
    }

    func testARefusedConnectFailsAtOnce() throws {
        // A port just freed: nothing listens there.
        let port = try StreamSocket.listen(host: "127.0.0.1", port: 0).localPort
        let started = Date()
        XCTAssertThrowsError(try StreamSocket.connect(host: "127.0.0.1", port: port, timeout: 5) { false }) { error in
            XCTAssertFalse((error as? SocketError)?.isTimeout ?? true, "a refusal, not a timeout: \(error)")
        }
        XCTAssertLessThan(Date().timeIntervalSince(started), 1)
    }

    /// A listener whose backlog is full and which never accepts: Linux drops the
    /// further handshakes, as a host behind a firewall that drops packets does.
    private func unansweredConnect(timeout: Double, cancelled: @escaping () -> Bool) throws -> (error: Error?, seconds: Double) {
        let listener = try StreamSocket.listen(host: "127.0.0.1", port: 0, backlog: 0)
        var held: [StreamSocket] = []
        defer { withExtendedLifetime(listener) {}; withExtendedLifetime(held) {} }
        for _ in 0..<16 {
            let started = Date()
            do {
                held.append(try StreamSocket.connect(host: "127.0.0.1", port: listener.localPort, timeout: timeout, cancelled: cancelled))
            } catch {
                return (error, Date().timeIntervalSince(started))
            }
        }
        throw XCTSkip("the system completed every connection to a full backlog: no unanswered handshake to test")
    }

    func testAnUnansweredConnectGivesUpAtItsTimeout() throws {
        let (error, seconds) = try unansweredConnect(timeout: 0.5) { false }
        XCTAssertTrue((error as? SocketError)?.isTimeout ?? false, "\(String(describing: error))")
        XCTAssertGreaterThanOrEqual(seconds, 0.45)
        XCTAssertLessThan(seconds, 1.5)
    }

    func testACancelledConnectGivesUpWithinATick() throws {
        let asked = Date()
        let (error, seconds) = try unansweredConnect(timeout: 30) { Date().timeIntervalSince(asked) > 0.3 }
        XCTAssertNotNil(error)
        XCTAssertLessThan(seconds, 0.3 + StreamSocket.connectTick + 0.5, "the cancel must end the wait, not the 30 s timeout")
    }
}
