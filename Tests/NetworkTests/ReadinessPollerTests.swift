import Foundation
import XCTest
@testable import Network

/// The event loops' poller over real loopback connections: which sockets are
/// ready, interest changes, and a wake-up from another thread.
final class ReadinessPollerTests: XCTestCase {
    private var keep: [StreamSocket] = []

    /// A connected client and the server's end of it, non-blocking as a loop's connections are.
    private func connectedPair(_ listener: StreamSocket) throws -> (client: StreamSocket, server: StreamSocket) {
        let client = try StreamSocket.connect(host: "127.0.0.1", port: listener.localPort)
        XCTAssertTrue(listener.isReadable(within: 5), "the connection never reached the listener")
        let server = try XCTUnwrap(try listener.accept())
        server.makeNonBlocking()
        keep += [client, server]
        return (client, server)
    }

    /// Every key `wait` reports within `seconds`, with what it found.
    private func ready(_ poller: ReadinessPoller, within seconds: Double) throws -> [Int: PollReadiness] {
        var found: [Int: PollReadiness] = [:]
        try poller.wait(seconds: seconds) { found[$0] = $1 }
        return found
    }

    func testOnlyTheSocketsWithInputAreReportedReadable() throws {
        let listener = try StreamSocket.listen(host: "127.0.0.1", port: 0)
        let poller = try ReadinessPoller()
        let pairs = try (0..<4).map { _ in try connectedPair(listener) }
        for (key, pair) in pairs.enumerated() { poller.register(pair.server, as: key, for: .readable) }
        XCTAssertEqual(try ready(poller, within: 0), [:], "nothing sent yet")
        try pairs[1].client.write([1])
        try pairs[3].client.write([2, 3])
        var found: [Int: PollReadiness] = [:]
        let deadline = Date().addingTimeInterval(5)
        while found.count < 2 && Date() < deadline { found.merge(try ready(poller, within: 5)) { $1 } }
        XCTAssertEqual(Set(found.keys), [1, 3])
        XCTAssertTrue(found.values.allSatisfy { $0.contains(.readable) })
        // Level-triggered: still ready until read.
        XCTAssertEqual(Set(try ready(poller, within: 0).keys), [1, 3])
        var buffer = [UInt8](repeating: 0, count: 16)
        XCTAssertEqual(try buffer.withUnsafeMutableBytes { try pairs[1].server.readAvailable(into: $0) }, .transferred(1))
        XCTAssertEqual(try buffer.withUnsafeMutableBytes { try pairs[1].server.readAvailable(into: $0) }, .needsReadable)
        XCTAssertEqual(Set(try ready(poller, within: 0).keys), [3])
    }

    func testInterestChangesAndDeregistrationAreHonoured() throws {
        let listener = try StreamSocket.listen(host: "127.0.0.1", port: 0)
        let poller = try ReadinessPoller()
        let (client, server) = try connectedPair(listener)
        poller.register(server, as: 7, for: .writable)
        XCTAssertEqual(try ready(poller, within: 5)[7], .writable, "an idle connection has room to send")
        try client.write([1])
        poller.change(7, to: [])
        XCTAssertEqual(try ready(poller, within: 0), [:], "a socket without interest is left out")
        poller.change(7, to: .readable)
        XCTAssertEqual(try ready(poller, within: 5)[7], .readable)
        poller.deregister(7)
        XCTAssertEqual(poller.count, 0)
        XCTAssertEqual(try ready(poller, within: 0), [:])
    }

    func testAPeerThatClosesIsReportedSoThatTheReadSeesTheEnd() throws {
        let listener = try StreamSocket.listen(host: "127.0.0.1", port: 0)
        let poller = try ReadinessPoller()
        let (client, server) = try connectedPair(listener)
        poller.register(server, as: 1, for: .readable)
        client.shutdown()
        XCTAssertEqual(try ready(poller, within: 5).keys.first, 1)
        var buffer = [UInt8](repeating: 0, count: 16)
        XCTAssertEqual(try buffer.withUnsafeMutableBytes { try server.readAvailable(into: $0) }, .ended)
    }

    func testAWakeUpFromAnotherThreadEndsAWait() throws {
        let poller = try ReadinessPoller()
        let started = Date()
        let waker = Thread { poller.wakeUp() }
        waker.start()
        XCTAssertEqual(try ready(poller, within: 30), [:], "a wake-up reports no socket")
        XCTAssertLessThan(Date().timeIntervalSince(started), 10, "the wake-up did not end the 30 s wait")
        // Drained: the next wait waits again, and wake-ups that came together were one.
        poller.wakeUp()
        poller.wakeUp()
        XCTAssertEqual(try ready(poller, within: 5), [:])
        let quiet = Date()
        XCTAssertEqual(try ready(poller, within: 0.2), [:])
        XCTAssertGreaterThanOrEqual(Date().timeIntervalSince(quiet), 0.15, "a drained wake-up must not end the next wait")
    }
}
