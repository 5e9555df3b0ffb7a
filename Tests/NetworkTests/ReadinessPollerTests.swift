import Foundation
import Synchronization
import XCTest
@testable import Network

/// The event loops' poller over real loopback connections, with each mechanism: which sockets are
/// ready, interest changes, and a wake-up from another thread.
final class ReadinessPollerTests: XCTestCase {
    private var keep: [StreamSocket] = []

    /// Every mechanism this system has: Linux runs poll's too, which is what Windows uses.
    #if os(Linux)
    private static let mechanisms: [ReadinessPoller.Mechanism] = [.epoll, .poll]
    #else
    private static let mechanisms: [ReadinessPoller.Mechanism] = [.poll]
    #endif

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
        for mechanism in Self.mechanisms { try testOnlyTheSocketsWithInputAreReportedReadable(mechanism) }
    }

    private func testOnlyTheSocketsWithInputAreReportedReadable(_ mechanism: ReadinessPoller.Mechanism) throws {
        let listener = try StreamSocket.listen(host: "127.0.0.1", port: 0)
        let poller = try ReadinessPoller(mechanism: mechanism)
        let pairs = try (0..<4).map { _ in try connectedPair(listener) }
        for (key, pair) in pairs.enumerated() { try poller.register(pair.server, as: key, for: .readable) }
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
        for mechanism in Self.mechanisms { try testInterestChangesAndDeregistrationAreHonoured(mechanism) }
    }

    private func testInterestChangesAndDeregistrationAreHonoured(_ mechanism: ReadinessPoller.Mechanism) throws {
        let listener = try StreamSocket.listen(host: "127.0.0.1", port: 0)
        let poller = try ReadinessPoller(mechanism: mechanism)
        let (client, server) = try connectedPair(listener)
        try poller.register(server, as: 7, for: .writable)
        XCTAssertEqual(try ready(poller, within: 5)[7], .writable, "an idle connection has room to send")
        try client.write([1])
        try poller.change(7, to: [])
        XCTAssertEqual(try ready(poller, within: 0), [:], "a socket without interest is left out")
        try poller.change(7, to: .readable)
        XCTAssertEqual(try ready(poller, within: 5)[7], .readable)
        poller.deregister(7)
        XCTAssertEqual(poller.count, 0)
        XCTAssertEqual(try ready(poller, within: 0), [:])
    }

    func testAPeerThatClosesIsReportedSoThatTheReadSeesTheEnd() throws {
        for mechanism in Self.mechanisms { try testAPeerThatClosesIsReportedSoThatTheReadSeesTheEnd(mechanism) }
    }

    private func testAPeerThatClosesIsReportedSoThatTheReadSeesTheEnd(_ mechanism: ReadinessPoller.Mechanism) throws {
        let listener = try StreamSocket.listen(host: "127.0.0.1", port: 0)
        let poller = try ReadinessPoller(mechanism: mechanism)
        let (client, server) = try connectedPair(listener)
        try poller.register(server, as: 1, for: .readable)
        client.shutdown()
        XCTAssertEqual(try ready(poller, within: 5).keys.first, 1)
        var buffer = [UInt8](repeating: 0, count: 16)
        XCTAssertEqual(try buffer.withUnsafeMutableBytes { try server.readAvailable(into: $0) }, .ended)
    }

    /// More sockets ready than one wait takes events for (256 on Linux): the
    /// rest come with the next waits, none lost, and the keys are the callers'.
    func testEveryReadySocketIsReportedWhenMoreAreReadyThanOneWaitTakes() throws {
        for mechanism in Self.mechanisms { try testEveryReadySocketIsReportedWhenMoreAreReadyThanOneWaitTakes(mechanism) }
    }

    private func testEveryReadySocketIsReportedWhenMoreAreReadyThanOneWaitTakes(_ mechanism: ReadinessPoller.Mechanism) throws {
        let listener = try StreamSocket.listen(host: "127.0.0.1", port: 0)
        let poller = try ReadinessPoller(mechanism: mechanism)
        let pairs = try (0..<300).map { _ in try connectedPair(listener) }
        for (index, pair) in pairs.enumerated() {
            try poller.register(pair.server, as: 1_000 + index * 7, for: .readable)
            try pair.client.write([UInt8(index % 256)])
        }
        var found: Set<Int> = []
        let deadline = Date().addingTimeInterval(10)
        var buffer = [UInt8](repeating: 0, count: 16)
        while found.count < pairs.count && Date() < deadline {
            try poller.wait(seconds: 1) { key, readiness in
                XCTAssertTrue(readiness.contains(.readable))
                found.insert(key)
                // Read, so that the next wait reports the others.
                _ = try? buffer.withUnsafeMutableBytes { try pairs[(key - 1_000) / 7].server.readAvailable(into: $0) }
            }
        }
        XCTAssertEqual(found, Set((0..<300).map { 1_000 + $0 * 7 }))
    }

    /// A socket deregistered by an earlier callback of the same wait (its
    /// connection closed) is not reported after it.
    func testASocketDeregisteredDuringAWaitIsNotReportedInIt() throws {
        for mechanism in Self.mechanisms {
            let reported = try keysReported(mechanism) { poller, other in poller.deregister(other) }
            XCTAssertEqual(reported.count, 1, "the other was deregistered before its turn: \(reported) (\(mechanism))")
        }
    }

    /// A socket whose interest an earlier callback of the same wait took away
    /// (its connection waits for a budget) is not reported after it either.
    func testASocketGivenNoInterestDuringAWaitIsNotReportedInIt() throws {
        for mechanism in Self.mechanisms {
            let reported = try keysReported(mechanism) { poller, other in
                do { try poller.change(other, to: []) } catch { XCTFail("change: \(error)") }
            }
            XCTAssertEqual(reported.count, 1, "the other lost its interest before its turn: \(reported) (\(mechanism))")
        }
    }

    /// The keys one wait reports when two sockets (keys 0 and 1) are ready and
    /// the callback for the first does `toTheOther` to the other key.
    private func keysReported(_ mechanism: ReadinessPoller.Mechanism, toTheOther: (ReadinessPoller, Int) -> Void) throws -> [Int] {
        let listener = try StreamSocket.listen(host: "127.0.0.1", port: 0)
        let poller = try ReadinessPoller(mechanism: mechanism)
        let pairs = try (0..<2).map { _ in try connectedPair(listener) }
        for (key, pair) in pairs.enumerated() {
            try poller.register(pair.server, as: key, for: .readable)
            try pair.client.write([1])
        }
        var both: [Int: PollReadiness] = [:]
        let deadline = Date().addingTimeInterval(5)
        while both.count < 2 && Date() < deadline { both.merge(try ready(poller, within: 1)) { $1 } }
        XCTAssertEqual(both.count, 2, "both sockets have input")
        var reported: [Int] = []
        try poller.wait(seconds: 5) { key, _ in
            if reported.isEmpty { toTheOther(poller, 1 - key) }
            reported.append(key)
        }
        withExtendedLifetime(pairs) {}
        return reported
    }

    func testAWakeUpFromAnotherThreadEndsAWait() throws {
        for mechanism in Self.mechanisms { try testAWakeUpFromAnotherThreadEndsAWait(mechanism) }
    }

    private func testAWakeUpFromAnotherThreadEndsAWait(_ mechanism: ReadinessPoller.Mechanism) throws {
        let poller = try ReadinessPoller(mechanism: mechanism)
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

    func testNoWakeUpIsLostWhenWakeUpsRaceTheDrain() throws {
        for mechanism in Self.mechanisms { try testNoWakeUpIsLostWhenWakeUpsRaceTheDrain(mechanism) }
    }

    /// A wake-up that comes while the last one is drained must not be swallowed with it: the poller
    /// would then believe one is still on its way and never write another, and its loop would sleep
    /// through every later wake-up.
    private func testNoWakeUpIsLostWhenWakeUpsRaceTheDrain(_ mechanism: ReadinessPoller.Mechanism) throws {
        let poller = try ReadinessPoller(mechanism: mechanism)
        let stop = StopFlag()
        let stopped = DispatchSemaphore(value: 0)
        let waker = Thread {
            while !stop.isSet { poller.wakeUp() }
            stopped.signal()
        }
        waker.start()
        let started = Date()
        var waits = 0
        while waits < 20_000 && Date().timeIntervalSince(started) < 10 {
            let wait = Date()
            try poller.wait(seconds: 3) { _, _ in }
            waits += 1
            guard Date().timeIntervalSince(wait) < 2 else {
                XCTFail("\(mechanism): wait \(waits) slept through the wake-ups of a thread that kept waking it")
                break
            }
        }
        stop.set()
        XCTAssertEqual(stopped.wait(timeout: .now() + 10), .success)
        poller.wakeUp()
        let last = Date()
        try poller.wait(seconds: 3) { _, _ in }
        XCTAssertLessThan(Date().timeIntervalSince(last), 2, "\(mechanism): a wake-up after the race must still end a wait")
    }
}

/// A flag one thread sets and another reads.
private final class StopFlag: Sendable {
    private let value = Mutex(false)
    var isSet: Bool { value.withLock { $0 } }
    func set() { value.withLock { $0 = true } }
}
