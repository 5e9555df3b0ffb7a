import Foundation
import XCTest

/// The spool on a real 40 MiB filesystem that fills while CloudWatch is down
/// and acking clients keep sending, as a host's disk does during an outage.
///
/// Afterwards every acknowledged record must reach CloudWatch exactly once
/// (no crash happens here, so no batch may be sent twice), the clients must
/// get their acks again once there is room, and SIGTERM must stop the shipper
/// within `Grace` + 2 s.
final class FullDiskTests: XCTestCase {
    private var directory: URL!
    private var filesystem: SmallFilesystem?

    override func setUpWithError() throws {
        directory = try TestPaths.temporaryDirectory()
        filesystem = try SmallFilesystem(at: directory.appendingPathComponent("spool").path, megabytes: 40)
    }

    override func tearDownWithError() throws {
        filesystem = nil
        try? FileManager.default.removeItem(at: directory)
    }

    private func ackedLines(_ client: ChildProcess) -> [String] {
        client.text.split(separator: "\n").compactMap { line in
            let parts = line.split(separator: " ")
            guard parts.count == 3, parts[0] == "ACK" else { return nil }
            return "c\(parts[1]) line \(parts[2])"
        }
    }

    /// The `c<connection> line <n>` start of each stored event's `log`, with repeats.
    private func deliveredLines(_ cloudWatch: FakeCloudWatch) throws -> [String] {
        try cloudWatch.lines().map { $0.split(separator: " ").prefix(3).joined(separator: " ") }
    }

    private func startClients(port: Int) throws -> ChildProcess {
        try ChildProcess("python3", [TestPaths.tool("acking_forward_client.py"), "--port", "\(port)", "--connections", "6",
                                     "--log-bytes", "2000", "--max-seconds", "300"], name: "acking_forward_client")
    }

    /// Runs the outage on a filling disk with `reserve` as `storage.disk_reserve`; returns the shipper's log.
    private func fillDuringAnOutageThenRecover(reserve: String, pausedBy reason: String) throws -> String {
        let cloudWatch = try FakeCloudWatch()
        try cloudWatch.setOutage(true)
        let config = try ShipperProcess.tutorialConfig(service: "    storage.disk_reserve \(reserve)\n    Grace 2\n")
        let shipper = try ShipperProcess(config: config, directory: directory, endpoint: cloudWatch.endpoint)
        let clients = try startClients(port: shipper.port)
        try shipper.child.waitForLine("backpressure on.*reason=\"?\(reason)", timeout: 180)
        // The clients' ack lines reach this test through a pipe, a little after the acks themselves.
        try clients.waitForOutput(timeout: 30, "the disk filled with acknowledged records") {
            $0.components(separatedBy: "ACK ").count - 1 > 1000
        }
        let ackedWhilePaused = ackedLines(clients).count
        print("paused by \(reason) after \(ackedWhilePaused) acknowledged records")

        try cloudWatch.setOutage(false)
        try clients.waitForOutput(timeout: 180, "acks again once delivered records made room") {
            $0.components(separatedBy: "ACK ").count - 1 >= ackedWhilePaused + 3000
        }
        try shipper.child.waitForLine("backpressure off", timeout: 60)
        clients.process.terminate()
        XCTAssertEqual(try clients.waitForExit(timeout: 60), 0, String(clients.text.suffix(2000)))

        let acked = ackedLines(clients)
        try eventually(timeout: 180, "every acked record in CloudWatch") {
            Set(try deliveredLines(cloudWatch)).isSuperset(of: acked)
        }
        let counts = Dictionary(try deliveredLines(cloudWatch).map { ($0, 1) }, uniquingKeysWith: +)
        let repeated = counts.filter { $0.value > 1 }
        XCTAssertEqual(repeated.count, 0, "no batch is sent twice without a crash; repeated: \(repeated.prefix(5))")

        let stopping = Date()
        XCTAssertEqual(try shipper.child.terminate(timeout: 30), 0)
        XCTAssertLessThan(Date().timeIntervalSince(stopping), 2 + 2, "SIGTERM stops within Grace + 2 s")
        return shipper.child.text
    }

    /// With a reserve, intake pauses before SQLite ever sees ENOSPC.
    func testIntakePausesAtTheDiskReserveAndEveryAckedRecordIsDeliveredOnce() throws {
        let log = try fillDuringAnOutageThenRecover(reserve: "8M", pausedBy: "free disk space below storage.disk_reserve")
        XCTAssertFalse(log.contains("disk full"), "the reserve kept SQLite from a full disk:\n\(log.suffix(3000))")
    }

    /// Without one, ingest fills the disk to ENOSPC; the headroom file lets the
    /// delivered batches be recorded and the delivered rows evicted anyway.
    func testOnAFullDiskDeliveriesAreStillRecordedAndIntakeResumesByItself() throws {
        // The writer's ENOSPC pauses intake, or (once housekeeping has given up the headroom, whose
        // space intake may not take) the space left below the headroom: either is a pause.
        let log = try fillDuringAnOutageThenRecover(reserve: "0", pausedBy: "(disk full|free disk space below storage.disk_reserve)")
        XCTAssertFalse(log.contains("the spool cannot record it"), "every delivery was recorded at once:\n\(log.suffix(3000))")
    }

    /// Another program fills the disk while the shipper idles: intake pauses without
    /// a single record coming in, deliveries are recorded from the headroom, and
    /// intake resumes by itself once the space is given back.
    func testAnotherProgramFillingTheDiskPausesIntakeAndFreeingItResumesIt() throws {
        let filesystem = try XCTUnwrap(self.filesystem)
        let cloudWatch = try FakeCloudWatch()
        try cloudWatch.setOutage(true)
        let config = try ShipperProcess.tutorialConfig(service: "    storage.disk_reserve 4M\n")
        let shipper = try ShipperProcess(config: config, directory: directory, endpoint: cloudWatch.endpoint)
        XCTAssertTrue(FileManager.default.fileExists(atPath: filesystem.path + "/shipper.sqlite.headroom"), "the headroom is made at start")
        XCTAssertEqual(try sendDockerRecords(port: shipper.port, count: 500, ack: true).count, 500)

        try filesystem.fill()
        try shipper.child.waitForLine("backpressure on.*reason=\"?free disk space below storage.disk_reserve", timeout: 30)
        try cloudWatch.setOutage(false)
        try eventually(timeout: 120, "the 500 records delivered on a full disk") { try cloudWatch.lines().count >= 500 }
        XCTAssertEqual(try cloudWatch.lines().sorted(), (0..<500).map { "line \($0)" }.sorted(), "each once")

        filesystem.remove()
        try shipper.child.waitForLine("backpressure off", timeout: 30)
        try eventually(timeout: 30, "the headroom made again") {
            FileManager.default.fileExists(atPath: filesystem.path + "/shipper.sqlite.headroom")
        }
        XCTAssertEqual(try sendDockerRecords(port: shipper.port, count: 100, start: 500, ack: true).count, 100)
        try eventually(timeout: 60, "the records sent after the disk had room") { try cloudWatch.lines().count >= 600 }
        XCTAssertEqual(try shipper.child.terminate(), 0)
    }
}
