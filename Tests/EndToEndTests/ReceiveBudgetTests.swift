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
        let (shipper, metricsPort) = try startShipper(input: ["Frame_Timeout     0"], service: ["ingest.max_receive_bytes 4M"])
        let pid = shipper.child.process.processIdentifier
        let residentBefore = try ShipperFigures.memoryKiB(of: pid, "VmRSS:")
        let stalled = try ChildProcess("python3", [TestPaths.tool("stalled_frames_client.py"), "--port", "\(shipper.port)",
                                                   "--connections", "\(stallers)", "--frame-bytes", "3000000", "--send-bytes", "2500000",
                                                   "--timeout", "120"], name: "stalled frames")
        var metrics: [String: Double] = [:]
        try eventually(timeout: 60, "most stalled connections waiting for the receive budget") {
            metrics = try ShipperFigures.metrics(port: metricsPort)
            return (metrics["shipper_input_receive_budget_waiting"] ?? 0) >= Double(stallers - 8)
        }
        // Past the limit by at most what the connection holding longest grows by: to hold 2.5 MB, 3.75 MiB.
        let limit = 4 << 20
        XCTAssertEqual(metrics["shipper_input_receive_bytes_limit"], Double(limit))
        XCTAssertLessThanOrEqual(metrics["shipper_input_receive_bytes"] ?? .infinity, Double(limit + (4 << 20)), "\(metrics)")

        let acking = try ChildProcess("python3", [TestPaths.tool("acking_forward_client.py"), "--port", "\(shipper.port)",
                                                  "--connections", "2", "--max-seconds", "60"], name: "acking client")
        try acking.waitForOutput(timeout: 10, "small frames acked while 40 connections wait inside large ones") {
            $0.split(separator: "\n").filter { $0.hasPrefix("ACK ") }.count >= 200
        }
        let peakGrowthKiB = try ShipperFigures.memoryKiB(of: pid, "VmHWM:") - residentBefore
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

    /// Connections that stop 600 KB into a 1 MB frame (their buffers grown past
    /// the first 256 KiB) are closed once `Frame_Timeout` (1 s) has passed, each
    /// with an error naming its peer, and what their buffers grew by goes back;
    /// a connection that sent a 1 MB frame whole and then stays quiet keeps its
    /// connection for good, and its buffer goes back to its first size at once,
    /// so it holds none of the receive budget.
    func testAConnectionThatStopsInsideAFrameIsClosedAtFrameTimeoutAndAQuietOneStays() throws {
        let (shipper, metricsPort) = try startShipper(input: ["Frame_Timeout     1"])
        let quiet = try ChildProcess("python3", [TestPaths.tool("stalled_frames_client.py"), "--port", "\(shipper.port)",
                                                 "--connections", "2", "--whole", "--frame-bytes", "1000000", "--timeout", "6"], name: "quiet connections")
        try quiet.waitForOutput(timeout: 10, "the quiet connections' frames acked") { $0.components(separatedBy: "ACK ").count - 1 == 2 }
        let afterLargeFrames = try ShipperFigures.metrics(port: metricsPort)
        XCTAssertEqual(afterLargeFrames["shipper_input_receive_bytes"], 0, "quiet connections hold no grown buffer: \(afterLargeFrames)")
        let stalled = try ChildProcess("python3", [TestPaths.tool("stalled_frames_client.py"), "--port", "\(shipper.port)",
                                                   "--connections", "3", "--frame-bytes", "1000000", "--send-bytes", "600000",
                                                   "--timeout", "20"], name: "stalled frames")
        XCTAssertEqual(try stalled.waitForExit(timeout: 30), 0, stalled.text)
        let closed = stalled.text.split(separator: "\n").filter { $0.hasPrefix("CLOSED ") }
        XCTAssertEqual(closed.count, 3, stalled.text)
        for line in closed {
            let seconds = Double(line.split(separator: " ")[2]) ?? -1
            XCTAssertGreaterThanOrEqual(seconds, 0.9, "closed before Frame_Timeout: \(line)")
            XCTAssertLessThan(seconds, 3, "closed long after Frame_Timeout: \(line)")
        }
        try shipper.child.waitForOutput(timeout: 10, "an error naming each peer") {
            $0.split(separator: "\n").filter { $0.contains("Frame_Timeout (1.0 s)") && $0.contains("peer=") }.count == 3
        }
        XCTAssertEqual(try ShipperFigures.metrics(port: metricsPort)["shipper_input_receive_bytes"], 0, "the closed connections' buffers went back")
        XCTAssertEqual(try quiet.waitForExit(timeout: 20), 0, quiet.text)
        XCTAssertEqual(quiet.text.split(separator: "\n").filter { $0.hasPrefix("OPEN ") }.count, 2, "the quiet connections stay open: \(quiet.text)")
        XCTAssertEqual(try shipper.child.terminate(), 0)
    }

    /// A client streaming frames for about seven seconds in writes that end inside
    /// frames, under `Frame_Timeout 2`: the clock times each frame, not the
    /// stream, so the connection is never closed and its last frame is acked.
    /// Its first frame is 900 KB: the buffer grown for it goes back while the
    /// small frames after it still stream (its reads never end at a frame's end,
    /// so the buffer is never empty), and with it what it held of the budget.
    func testAClientStreamingFramesInWritesThatEndInsideFramesIsNotTimedOut() throws {
        let (shipper, metricsPort) = try startShipper(input: ["Frame_Timeout     2"])
        let started = Date()
        let client = try ChildProcess("python3", [TestPaths.tool("streaming_frames_client.py"), "--port", "\(shipper.port)",
                                                  "--connections", "1", "--frames", "20000", "--write-bytes", "50001", "--pause", "0.05",
                                                  "--first-log-bytes", "900000", "--timeout", "60"], name: "streaming frames")
        var grewForTheFirst = false
        try eventually(timeout: 5, "the buffer grown for the first frame given back while the stream goes on") {
            let grown = try ShipperFigures.metrics(port: metricsPort)["shipper_input_receive_bytes"] ?? -1
            grewForTheFirst = grewForTheFirst || grown > 0
            return grewForTheFirst && grown == 0
        }
        XCTAssertTrue(client.process.isRunning, "the stream still goes on")
        XCTAssertEqual(try client.waitForExit(timeout: 90), 0, client.text)
        let took = Date().timeIntervalSince(started)
        print("streaming in writes that end inside frames: \(took) s under Frame_Timeout 2 s")
        XCTAssertGreaterThan(took, 4, "the stream lasted longer than Frame_Timeout several times over")
        XCTAssertTrue(client.text.contains("ACKED 0"), client.text)
        XCTAssertFalse(shipper.child.text.contains("Frame_Timeout"), shipper.child.text.suffix(2000).description)
        XCTAssertEqual(try shipper.child.terminate(), 0)
    }

    /// Under `Idle_Timeout 1` and a receive budget of 1M, a client streams a
    /// 3 MB frame over about three seconds, and once its buffer has grown a
    /// second connection stops 1.5 MB into a frame of its own: it waits for
    /// room until the first frame is in, and is not idle meanwhile (its client
    /// is simply not read); once it has room and has read what waited for it,
    /// it gets its own second, so it is closed two seconds or more after its
    /// last byte, not one.
    func testAConnectionWaitingForTheReceiveBudgetIsNotIdle() throws {
        let (shipper, metricsPort) = try startShipper(input: ["Frame_Timeout     0", "Idle_Timeout      1"], service: ["ingest.max_receive_bytes 1M"])
        let streaming = try ChildProcess("python3", [TestPaths.tool("streaming_frames_client.py"), "--port", "\(shipper.port)",
                                                     "--connections", "1", "--frames", "10", "--first-log-bytes", "3000000",
                                                     "--write-bytes", "50001", "--pause", "0.05", "--timeout", "60"], name: "streaming frames")
        try eventually(timeout: 10, "the streaming connection's buffer grown past the budget") {
            (try ShipperFigures.metrics(port: metricsPort)["shipper_input_receive_bytes"] ?? 0) >= Double(1 << 20)
        }
        let stalled = try ChildProcess("python3", [TestPaths.tool("stalled_frames_client.py"), "--port", "\(shipper.port)",
                                                   "--connections", "1", "--frame-bytes", "3000000", "--send-bytes", "1500000",
                                                   "--timeout", "30"], name: "stalled frame")
        try eventually(timeout: 10, "the stalled connection waiting for room") {
            (try ShipperFigures.metrics(port: metricsPort)["shipper_input_receive_budget_waiting"] ?? 0) >= 1
        }
        XCTAssertEqual(try streaming.waitForExit(timeout: 60), 0, streaming.text)
        XCTAssertEqual(try stalled.waitForExit(timeout: 40), 0, stalled.text)
        let closed = stalled.text.split(separator: "\n").first { $0.hasPrefix("CLOSED ") }.flatMap { Double($0.split(separator: " ")[2]) }
        print("the connection that waited for the receive budget was closed as idle \(closed ?? -1) s after its last byte (Idle_Timeout 1 s)")
        XCTAssertGreaterThanOrEqual(closed ?? 0, 1.8, "closed as idle while it waited for room, or at once after: \(stalled.text)")
        XCTAssertEqual(try shipper.child.terminate(), 0)
    }

    /// The tutorial's shipper, its CloudWatch unreachable (nothing here is delivered), with
    /// `input` lines added to its forward input and `service` lines to [SERVICE], and its
    /// metrics endpoint on; returns it and the endpoint's port.
    private func startShipper(input: [String], service: [String] = []) throws -> (ShipperProcess, metricsPort: String) {
        let config = try ShipperProcess.tutorialConfig(service: (service + ["HTTP_Server On", "HTTP_Port   0"]).map { "    \($0)\n" }.joined())
            .replacingOccurrences(of: "    Tag_Prefix        ecs.", with: (["Tag_Prefix        ecs."] + input).map { "    \($0)" }.joined(separator: "\n"))
        let shipper = try ShipperProcess(config: config, directory: directory, endpoint: "http://127.0.0.1:9")
        return (shipper, try shipper.child.waitForLine(#"monitoring endpoint listening .*port=(\d+)"#))
    }
}
