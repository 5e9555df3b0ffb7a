import Foundation
import XCTest

/// `ingest.max_pending_bytes` against the real binary: many connections sending
/// large gzip frames at once, with the spool committing one fsynced frame after
/// another, get every frame acked and delivered while the shipper's peak RSS
/// stays near its budget instead of growing with the number of connections.
final class DecodeBudgetEndToEndTests: XCTestCase {
    private var directory: URL!

    override func setUpWithError() throws {
        directory = try TestPaths.temporaryDirectory()
    }

    override func tearDownWithError() throws {
        try? FileManager.default.removeItem(at: directory)
    }

    /// 24 connections, each with a 640 KB frame inflating to 4.3 MB (1,000 records).
    /// Without the budget they all hold their decoded frames together: 247 MiB
    /// peak with `ingest.max_pending_bytes 1G` on the 2-core host, against 115 MiB
    /// with 4M (and 52 MiB for one connection alone). The rest above one
    /// connection is mostly the 24 receive buffers holding their whole frames.
    func testManyConnectionsWithLargeFramesWaitForTheBudgetAndEveryAckedRecordIsDelivered() throws {
        let connections = 24, records = 1000
        let fake = try FakeCloudWatch()
        let config = try ShipperProcess.tutorialConfig(service: """
                ingest.max_pending_bytes 4M
                storage.sync full
                HTTP_Server On
                HTTP_Port   0

            """).replacingOccurrences(of: "    auto_create_group   On", with: "    auto_create_group   On\n    log_key             log")
        let shipper = try ShipperProcess(config: config, directory: directory, endpoint: fake.endpoint)
        let metricsPort = try shipper.child.waitForLine(#"monitoring endpoint listening .*port=(\d+)"#)
        let client = try ChildProcess("python3", [TestPaths.tool("large_frames_client.py"), "--port", "\(shipper.port)",
                                                  "--connections", "\(connections)", "--records", "\(records)", "--timeout", "240"],
                                      name: "large frames")
        XCTAssertEqual(try client.waitForExit(timeout: 300), 0, client.text)
        let acked = client.text.split(separator: "\n").filter { $0.hasPrefix("ACK ") }.flatMap { line -> [String] in
            let parts = line.split(separator: " ")
            return (0..<records).map { "c\(parts[1]) f\(parts[2]) r\($0)" }
        }
        XCTAssertEqual(acked.count, connections * records, "every frame acked")

        let peakKiB = try ShipperFigures.memoryKiB(of: shipper.child.process.processIdentifier, "VmHWM:")
        print("decode budget test: peak RSS \(peakKiB / 1024) MiB with ingest.max_pending_bytes 4M, \(connections) connections")
        let metrics = try String(contentsOf: URL(string: "http://127.0.0.1:\(metricsPort)/api/v1/metrics/prometheus")!, encoding: .utf8)
        XCTAssertTrue(metrics.contains("shipper_input_pending_bytes 0\n"), "nothing held once every frame is acked:\n\(metrics)")
        XCTAssertTrue(metrics.contains("shipper_input_pending_bytes_limit 4194304\n"), metrics)
        let waits = metrics.split(separator: "\n").first { $0.hasPrefix("shipper_input_budget_waits_total ") }.flatMap { Int($0.split(separator: " ")[1]) }
        XCTAssertGreaterThan(waits ?? 0, 0, "connections waited for room:\n\(metrics)")

        try eventually(timeout: 120, "every acked record delivered") {
            Set(try fake.state().events.map(\.message)).isSuperset(of: acked)
        }
        // 24 decoded frames at once came to 247 MiB; the budget keeps about one frame past 4 MiB, plus the receive buffers.
        XCTAssertLessThan(peakKiB, 160 * 1024, "peak RSS stays near the budget")
        XCTAssertEqual(try shipper.child.terminate(), 0)
    }

    /// Clients streaming small frames without acks under a short budget: a loop
    /// brings hundreds of frames a read and hands its pass over early (past 512
    /// records), often just after a connection's claim failed. Each connection's
    /// last frame asks for an ack, which comes only once everything it sent is
    /// committed. A connection whose place in line the hand-over gave up waited
    /// for room that nobody would announce, and its last ack never came. 1M is
    /// short for 8 such clients yet holds a pass of 512 records (under 64K no
    /// pass reached 512, and the failure did not show).
    func testStreamingConnectionsUnderAShortBudgetAllGetTheirFramesStored() throws {
        let connections = 8, frames = 20_000
        let config = try ShipperProcess.tutorialConfig(service: """
                ingest.max_pending_bytes 1M
                HTTP_Server On
                HTTP_Port   0

            """)
        let shipper = try ShipperProcess(config: config, directory: directory, endpoint: "http://127.0.0.1:9")
        let metricsPort = try shipper.child.waitForLine(#"monitoring endpoint listening .*port=(\d+)"#)
        let client = try ChildProcess("python3", [TestPaths.tool("streaming_frames_client.py"), "--port", "\(shipper.port)",
                                                  "--connections", "\(connections)", "--frames", "\(frames)", "--timeout", "60"],
                                      name: "streaming frames")
        XCTAssertEqual(try client.waitForExit(timeout: 120), 0, client.text)
        XCTAssertEqual(client.text.split(separator: "\n").filter { $0.hasPrefix("ACKED ") }.count, connections, client.text)
        let metrics = try String(contentsOf: URL(string: "http://127.0.0.1:\(metricsPort)/api/v1/metrics/prometheus")!, encoding: .utf8)
        let waits = metrics.split(separator: "\n").first { $0.hasPrefix("shipper_input_budget_waits_total ") }.flatMap { Int($0.split(separator: " ")[1]) }
        let taken = metrics.split(separator: "\n").first { $0.hasPrefix("shipper_input_records_total ") }.flatMap { Double($0.split(separator: " ")[1]) }
        XCTAssertEqual(taken.map(Int.init), connections * (frames + 1), "every record taken in and routed:\n\(metrics)")
        print("streaming under a 1M decode budget: \(connections) x \(frames) frames stored, \(waits ?? -1) waits for room")
        XCTAssertGreaterThan(waits ?? 0, 0, "connections waited for room, so the budget was short:\n\(metrics)")
        XCTAssertTrue(metrics.contains("shipper_input_pending_bytes 0\n"), "nothing held once every connection is acked:\n\(metrics)")
        XCTAssertEqual(try shipper.child.terminate(), 0)
    }

    /// Connections waiting for room in the budget while the spool is paused at its
    /// size limit (CloudWatch down) still end within the stop: SIGTERM exits 0
    /// within `Grace` (5 s) + 2 s.
    func testSIGTERMWhileConnectionsWaitForTheBudgetStopsInTime() throws {
        let config = try ShipperProcess.tutorialConfig(service: """
                ingest.max_pending_bytes 4M
                storage.total_limit_size 2M
                storage.keep_delivered 0
                HTTP_Server On
                HTTP_Port   0

            """)
        let shipper = try ShipperProcess(config: config, directory: directory, endpoint: "http://127.0.0.1:9")
        let metricsPort = try shipper.child.waitForLine(#"monitoring endpoint listening .*port=(\d+)"#)
        let client = try ChildProcess("python3", [TestPaths.tool("large_frames_client.py"), "--port", "\(shipper.port)",
                                                  "--connections", "8", "--frames", "2", "--timeout", "120"], name: "large frames")
        try shipper.child.waitForLine("backpressure on", timeout: 120)
        try eventually(timeout: 60, "connections waiting for the budget") {
            let metrics = (try? String(contentsOf: URL(string: "http://127.0.0.1:\(metricsPort)/api/v1/metrics/prometheus")!, encoding: .utf8)) ?? ""
            return metrics.split(separator: "\n").contains { $0.hasPrefix("shipper_input_budget_waiting ") && !$0.hasSuffix(" 0") }
        }
        let started = Date()
        XCTAssertEqual(try shipper.child.terminate(timeout: 30), 0, shipper.child.text.suffix(3000).description)
        let took = Date().timeIntervalSince(started)
        print("stop while connections wait for the decode budget: \(took) s")
        XCTAssertLessThan(took, 7, "the stop took \(took) s")
        client.kill9()
    }
}
