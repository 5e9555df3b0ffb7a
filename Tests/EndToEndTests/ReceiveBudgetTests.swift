import Foundation
import XCTest

/// Frames still arriving, against the real binary: `ingest.max_receive_bytes`
/// bounds how far all receive buffers grow together, and `Frame_Timeout`
/// closes a connection that stops inside a frame, while the small frames of
/// other clients, and the quiet connection of a container that rarely logs,
/// go on as before.
final class ReceiveBudgetEndToEndTests: XCTestCase {
    private var directory: URL!

    override func setUpWithError() throws {
        directory = try TestPaths.temporaryDirectory()
    }

    override func tearDownWithError() throws {
        try? FileManager.default.removeItem(at: directory)
    }

    /// 40 connections each send 2.5 MB of a 3 MB frame and stop (`Frame_Timeout 0`:
    /// nothing closes them). Without the budget each buffer would grow to hold it,
    /// 100 MB resident together; with `ingest.max_receive_bytes 4M` the buffers grow
    /// past their first 256 KiB by at most the budget plus one frame (the connection
    /// holding longest may always grow), the rest wait unread, an acking client's
    /// small frames are acked throughout, and SIGTERM still stops in time.
    func testConnectionsInsideLargeFramesWaitForTheReceiveBudgetWhileSmallFramesGoOn() throws {
        let stallers = 40
        let config = try ShipperProcess.tutorialConfig(service: """
                ingest.max_receive_bytes 4M
                HTTP_Server On
                HTTP_Port   0

            """).replacingOccurrences(of: "    Tag_Prefix        ecs.", with: "    Tag_Prefix        ecs.\n    Frame_Timeout     0")
        let shipper = try ShipperProcess(config: config, directory: directory, endpoint: "http://127.0.0.1:9")
        let metricsPort = try shipper.child.waitForLine(#"monitoring endpoint listening .*port=(\d+)"#)
        let pid = shipper.child.process.processIdentifier
        let residentBefore = try Self.residentKiB(of: pid, field: "VmRSS:")
        let stalled = try ChildProcess("python3", [TestPaths.tool("stalled_frames_client.py"), "--port", "\(shipper.port)",
                                                   "--connections", "\(stallers)", "--frame-bytes", "3000000", "--send-bytes", "2500000",
                                                   "--timeout", "120"], name: "stalled frames")
        var metrics: [String: Double] = [:]
        try eventually(timeout: 60, "most stalled connections waiting for the receive budget") {
            metrics = try Self.metrics(port: metricsPort)
            return (metrics["shipper_input_receive_budget_waiting"] ?? 0) >= Double(stallers - 8)
        }
        let limit = 4 << 20, oneFrame = (6 << 20) + (1 << 20)
        XCTAssertEqual(metrics["shipper_input_receive_bytes_limit"], Double(limit))
        XCTAssertLessThanOrEqual(metrics["shipper_input_receive_bytes"] ?? .infinity, Double(limit + oneFrame), "\(metrics)")

        let acking = try ChildProcess("python3", [TestPaths.tool("acking_forward_client.py"), "--port", "\(shipper.port)",
                                                  "--connections", "2", "--max-seconds", "60"], name: "acking client")
        try acking.waitForOutput(timeout: 10, "small frames acked while 40 connections wait inside large ones") {
            $0.split(separator: "\n").filter { $0.hasPrefix("ACK ") }.count >= 200
        }
        let peakGrowthKiB = try Self.residentKiB(of: pid, field: "VmHWM:") - residentBefore
        print("receive budget test: \(Int(metrics["shipper_input_receive_bytes"] ?? -1)) bytes grown, \(Int(metrics["shipper_input_receive_budget_waiting"] ?? -1)) connections waiting, peak RSS \(peakGrowthKiB / 1024) MiB above idle")
        // 40 buffers of 256 KiB filled, the 4 MiB budget and what the oldest holder grows by: 26 MiB in a release
        // build; with the budget at 1G, where each buffer holds its 2.5 MB, 112 MiB.
        XCTAssertLessThan(peakGrowthKiB, 60 * 1024, "the receive buffers stay near the budget")

        let started = Date()
        XCTAssertEqual(try shipper.child.terminate(timeout: 30), 0, shipper.child.text.suffix(3000).description)
        let took = Date().timeIntervalSince(started)
        print("stop while connections wait for the receive budget: \(took) s")
        XCTAssertLessThan(took, 7, "the stop took \(took) s (Grace 5 s)")
        acking.kill9()
        stalled.kill9()
    }

    /// Connections that stop halfway through a 100 KB frame are closed once
    /// `Frame_Timeout` (1 s) has passed, each with an error naming its peer, and
    /// their frames are not acked; a connection that sent a 1 MB frame whole and
    /// then stays quiet keeps its connection for good, and its buffer goes back
    /// to its first size at once, so it holds none of the receive budget.
    func testAConnectionThatStopsInsideAFrameIsClosedAtFrameTimeoutAndAQuietOneStays() throws {
        let config = try ShipperProcess.tutorialConfig(service: """
                HTTP_Server On
                HTTP_Port   0

            """).replacingOccurrences(of: "    Tag_Prefix        ecs.", with: "    Tag_Prefix        ecs.\n    Frame_Timeout     1")
        let shipper = try ShipperProcess(config: config, directory: directory, endpoint: "http://127.0.0.1:9")
        let metricsPort = try shipper.child.waitForLine(#"monitoring endpoint listening .*port=(\d+)"#)
        let quiet = try ChildProcess("python3", [TestPaths.tool("stalled_frames_client.py"), "--port", "\(shipper.port)",
                                                 "--connections", "2", "--whole", "--frame-bytes", "1000000", "--timeout", "6"], name: "quiet connections")
        try quiet.waitForOutput(timeout: 10, "the quiet connections' frames acked") { $0.components(separatedBy: "ACK ").count - 1 == 2 }
        let afterLargeFrames = try Self.metrics(port: metricsPort)
        XCTAssertEqual(afterLargeFrames["shipper_input_receive_bytes"], 0, "quiet connections hold no grown buffer: \(afterLargeFrames)")
        let stalled = try ChildProcess("python3", [TestPaths.tool("stalled_frames_client.py"), "--port", "\(shipper.port)",
                                                   "--connections", "3", "--frame-bytes", "100000", "--send-bytes", "50000",
                                                   "--timeout", "20"], name: "stalled frames")
        XCTAssertEqual(try stalled.waitForExit(timeout: 30), 0, stalled.text)
        let closed = stalled.text.split(separator: "\n").filter { $0.hasPrefix("CLOSED ") }
        XCTAssertEqual(closed.count, 3, stalled.text)
        for line in closed {
            let seconds = Double(line.split(separator: " ")[2]) ?? -1
            XCTAssertGreaterThanOrEqual(seconds, 0.9, "closed before Frame_Timeout: \(line)")
            XCTAssertLessThan(seconds, 3, "closed long after Frame_Timeout: \(line)")
        }
        XCTAssertFalse(stalled.text.contains("ACK "), "a partial frame is never acked")
        try shipper.child.waitForOutput(timeout: 10, "an error naming each peer") {
            $0.split(separator: "\n").filter { $0.contains("Frame_Timeout (1.0 s)") && $0.contains("peer=") }.count == 3
        }
        XCTAssertEqual(try quiet.waitForExit(timeout: 20), 0, quiet.text)
        XCTAssertEqual(quiet.text.split(separator: "\n").filter { $0.hasPrefix("OPEN ") }.count, 2, "the quiet connections stay open: \(quiet.text)")
        XCTAssertEqual(try shipper.child.terminate(), 0)
    }

    static func metrics(port: String) throws -> [String: Double] {
        let text = try String(contentsOf: URL(string: "http://127.0.0.1:\(port)/api/v1/metrics/prometheus")!, encoding: .utf8)
        var values: [String: Double] = [:]
        for line in text.split(separator: "\n") where !line.hasPrefix("#") {
            let parts = line.split(separator: " ")
            if parts.count == 2, !parts[0].contains("{"), let value = Double(parts[1]) { values[String(parts[0])] = value }
        }
        return values
    }

    /// A figure of /proc/<pid>/status in KiB: VmRSS now, VmHWM the most since the start.
    static func residentKiB(of pid: Int32, field: String) throws -> Int {
        let status = try String(contentsOfFile: "/proc/\(pid)/status", encoding: .utf8)
        guard let line = status.split(separator: "\n").first(where: { $0.hasPrefix(field) }),
              let kib = line.split(separator: " ").dropFirst().first.flatMap({ Int($0) }) else {
            throw ChildProcessError.failed("no \(field) in /proc/\(pid)/status")
        }
        return kib
    }
}
