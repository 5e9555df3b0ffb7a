import Foundation
import XCTest

/// How delivery treats an endpoint that stalls, throttles or is down: a stuck
/// call is given up and retried on a fresh connection within seconds, a
/// throttled endpoint is probed by one call at a time instead of by every
/// stream, and a stream whose calls get no answer retries with one event.
final class EndpointFaultTests: XCTestCase {
    private var directory: URL!

    override func setUpWithError() throws {
        directory = try TestPaths.temporaryDirectory()
    }

    override func tearDownWithError() throws {
        try? FileManager.default.removeItem(at: directory)
    }

    /// Delivers three rounds of 20 acked records for each of three streams through a fake
    /// that injects `fault` into 30% of the calls, then returns the longest time from a
    /// faulted call to the next call of the same stream, and how many calls were faulted.
    private func longestWaitAfter(_ fault: String, taskPrefix: String) throws -> (seconds: Double, faulted: Int) {
        let fake = try FakeCloudWatch(["--fault", "\(fault):0.3"])
        let shipper = try ShipperProcess(config: try ShipperProcess.tutorialConfig(), directory: directory, endpoint: fake.endpoint)
        let tasks = (1...3).map { String(format: "\(taskPrefix)%04d", $0) }
        var acked: [String] = []
        for round in 0..<3 {
            for (index, task) in tasks.enumerated() {
                let start = (round * tasks.count + index) * 20
                acked += try sendDockerRecords(port: shipper.port, count: 20, start: start, ack: true, extra: ["--task", task]).map { "line \($0)" }
            }
            try eventually(timeout: 120, "round \(round) delivered") { Set(acked).isSubset(of: Set(try fake.lines())) }
        }
        XCTAssertEqual(try shipper.child.terminate(), 0)
        let puts = try fake.state().puts
        let faulted = puts.filter { $0.fault == fault && $0.stream != nil }
        var worst = 0.0
        for call in faulted {
            guard let next = puts.first(where: { $0.stream == call.stream && $0.t > call.t }) else {
                XCTFail("the stream \(call.stream ?? "?") never called again after its \(fault)")
                return (.infinity, faulted.count)
            }
            worst = max(worst, next.t - call.t)
        }
        print("\(faulted.count) calls of \(puts.count) with \(fault); the longest wait for such a stream's next call: \(String(format: "%.1f", worst)) s")
        return (worst, faulted.count)
    }

    /// A call that stops halfway (the fake reads half the body, then nothing for 30 s)
    /// holds its stream only for the stall timeout (5 s), not for a 10 s request timeout
    /// or longer: the next call of that stream comes within a few seconds of the stuck one.
    func testAStalledCallIsRetriedWithinSeconds() throws {
        let (worst, stalls) = try longestWaitAfter("stall", taskPrefix: "dddd")
        XCTAssertGreaterThan(stalls, 0, "no call stalled: the test proves nothing")
        // 5 s of patience and the stream's backoff (a few stalls in a row draw up to 1.6 s or so).
        XCTAssertLessThan(worst, 9.5, "a stalled call must be given up before a 10 s timeout")
    }

    /// One stream whose every call stalls must not hold back the other streams of its
    /// group: a stream that got new records after it was drained starts sending them at
    /// once, not when the stalled call of its neighbour ends (after the 5 s stall timeout).
    func testAStreamWhoseCallsStallDoesNotHoldBackItsGroup() throws {
        let fake = try FakeCloudWatch(["--stall-stream", "hhhh0001"])
        let shipper = try ShipperProcess(config: try ShipperProcess.tutorialConfig(), directory: directory, endpoint: fake.endpoint)
        try sendDockerRecords(port: shipper.port, count: 5, ack: true, extra: ["--task", "hhhh0001"])
        try eventually(timeout: 30, "the stalling stream's first call") { try fake.state().faults["stall", default: 0] > 0 }
        var worst = 0.0
        for round in 0..<5 {
            let acked = try sendDockerRecords(port: shipper.port, count: 5, start: 100 + round * 5, ack: true, extra: ["--task", "hhhh0002"]).map { "line \($0)" }
            let sent = Date()
            try eventually(timeout: 30, "round \(round) of the other stream delivered") { Set(acked).isSubset(of: Set(try fake.lines())) }
            worst = max(worst, Date().timeIntervalSince(sent))
        }
        print("beside a stream whose calls all stall, the other stream's records were delivered \(String(format: "%.1f", worst)) s after their acks at worst")
        // Flush is 0.2 s here; waiting for the stalled call would take up to its 5 s.
        XCTAssertLessThan(worst, 2.5, "a stalled stream held its group's other stream back")
        XCTAssertEqual(try shipper.child.terminate(), 0)
    }

    /// A stop while every call stalls: the calls out are cancelled at the end of Grace,
    /// not waited for to their stall timeout, and the shipper exits within Grace + 2 s.
    func testAStopWhileCallsStallEndsWithinGrace() throws {
        let fake = try FakeCloudWatch(["--fault", "stall:1"])
        let shipper = try ShipperProcess(config: try ShipperProcess.tutorialConfig(), directory: directory, endpoint: fake.endpoint)
        for task in ["iiii0001", "iiii0002"] { try sendDockerRecords(port: shipper.port, count: 5, ack: true, extra: ["--task", task]) }
        try eventually(timeout: 30, "both streams' calls stalled") { try fake.state().faults["stall", default: 0] >= 2 }
        let started = Date()
        XCTAssertEqual(try shipper.child.terminate(), 0)
        let took = Date().timeIntervalSince(started)
        print("stop while every call stalls: \(String(format: "%.1f", took)) s")
        XCTAssertLessThan(took, 7, "Grace (5 s) + 2 s bounds the stop")
    }

    /// A connection the endpoint closes without an answer (a reset, as load balancers
    /// and idle timeouts do) is noticed at once, not after the stall timeout: a call on a
    /// connection kept from an earlier call must not wait for a reply that cannot come.
    func testAResetCallIsRetriedAtOnce() throws {
        let (worst, resets) = try longestWaitAfter("reset", taskPrefix: "gggg")
        XCTAssertGreaterThan(resets, 0, "no call was reset: the test proves nothing")
        // The stream's backoff after a few resets in a row is at most a second or two.
        XCTAssertLessThan(worst, 4, "a reset must be seen at once, not after the 5 s stall timeout")
    }

    /// While the endpoint throttles, the streams sending to it wait together: one
    /// call probes at a time, with one backoff for the endpoint, instead of each of
    /// eight streams retrying on its own; once a call succeeds they all resume.
    func testAThrottledEndpointIsProbedByOneCallAtATime() throws {
        let fake = try FakeCloudWatch()
        let shipper = try ShipperProcess(config: try ShipperProcess.tutorialConfig(), directory: directory, endpoint: fake.endpoint)
        let tasks = (1...8).map { String(format: "eeee%04d", $0) }
        try fake.setThrottling(true)
        var acked: [String] = []
        for (index, task) in tasks.enumerated() {
            acked += try sendDockerRecords(port: shipper.port, count: 5, start: index * 5, ack: true, extra: ["--task", task]).map { "line \($0)" }
        }
        try eventually(timeout: 60, "the first call throttled") { try fake.state().faults["throttle", default: 0] > 0 }
        let throttledFrom = Date()
        // Let the endpoint throttle for 8 s.
        try eventually(timeout: 30, "8 s of throttling") { Date().timeIntervalSince(throttledFrom) >= 8 }
        let throttledCalls = try fake.state().faults["throttle", default: 0]
        try fake.setThrottling(false)
        let resumed = Date()
        try eventually(timeout: 60, "every record delivered") { Set(acked).isSubset(of: Set(try fake.lines())) }
        let recovery = Date().timeIntervalSince(resumed)
        print("8 streams, 8 s of throttling: \(throttledCalls) throttled calls; every record delivered \(String(format: "%.1f", recovery)) s after it ended")
        // The endpoint's throttle backoff is capped at 10 s (`EndpointRecovery.throttleBackoffCap`).
        // At most each stream's first call is throttled (8); after that one probe per round of a
        // shared backoff from 0.2 s doubling (about 6 rounds in 8 s). Streams backing off
        // alone would make about 8 calls per round each.
        XCTAssertLessThanOrEqual(throttledCalls, 24, "the streams of a throttled endpoint must not each retry on their own")
        XCTAssertLessThan(recovery, 15, "after the throttle the streams resume at the next probe")
        XCTAssertEqual(try shipper.child.terminate(), 0)
    }

    /// While the endpoint answers 503 to everything, each stream's retries carry one event
    /// instead of its whole batch again, and once a call succeeds the stream's next batch is
    /// whole again (not a ramp from one event up). Each stream's first call carries what had
    /// arrived by then.
    func testDuringAnOutageAStreamRetriesWithOneEventAndThenSendsItsWholeBatch() throws {
        let fake = try FakeCloudWatch()
        try fake.setOutage(true)
        let shipper = try ShipperProcess(config: try ShipperProcess.tutorialConfig(), directory: directory, endpoint: fake.endpoint)
        let tasks = (1...3).map { String(format: "hhhh%04d", $0) }
        var acked: [String] = []
        for (index, task) in tasks.enumerated() {
            acked += try sendDockerRecords(port: shipper.port, count: 40, start: index * 40, ack: true, extra: ["--task", task]).map { "line \($0)" }
        }
        XCTAssertEqual(acked.count, 120)
        func faultedPuts() throws -> [String: [FakeCloudWatch.State.Put]] {
            Dictionary(grouping: try fake.state().puts.filter { $0.fault == "outage" && $0.stream != nil }, by: { $0.stream! })
        }
        try eventually(timeout: 60, "three failed calls of each stream") {
            let faulted = try faultedPuts()
            return faulted.count == tasks.count && faulted.values.allSatisfy { $0.count >= 3 }
        }
        try fake.setOutage(false)
        try eventually(timeout: 60, "every record delivered") { Set(acked).isSubset(of: Set(try fake.lines())) }
        XCTAssertEqual(try shipper.child.terminate(), 0)
        let puts = try fake.state().puts.filter { $0.stream != nil }
        for (stream, calls) in Dictionary(grouping: puts, by: { $0.stream! }) {
            let failed = calls.filter { $0.fault == "outage" }
            let succeeded = calls.filter { $0.fault == nil }
            print("\(stream): failed calls carried \(failed.map { $0.events ?? -1 }), the others \(succeeded.map { $0.events ?? -1 })")
            XCTAssertEqual(Set(failed.dropFirst().map(\.events)), [1], "\(stream): a retry after no answer carries one event")
            // The first answered call finds no stream (none could be made during the outage), the
            // shipper makes it and sends the one event again; then the rest go in one batch.
            XCTAssertEqual(succeeded.last?.events, 39, "\(stream): after the probe, the rest in one batch, not a ramp from one event")
            XCTAssertEqual(Set(succeeded.dropLast().map(\.events)), [1], "\(stream): the calls before it are the probe's")
            XCTAssertLessThanOrEqual(succeeded.count, 3, "\(stream): the probe, its resend once the stream is made, the rest")
        }
    }
}
