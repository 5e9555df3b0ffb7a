import Foundation
import XCTest

/// The promise itself: every record the shipper acknowledged is there after
/// any number of kill -9s, exactly once, with Docker-like clients that resend
/// an unacknowledged frame with the same chunk id.
final class CrashTests: XCTestCase {
    private var directory: URL!

    override func setUpWithError() throws {
        directory = try TestPaths.temporaryDirectory()
    }

    override func tearDownWithError() throws {
        try? FileManager.default.removeItem(at: directory)
    }

    /// The `log` value of every record in the spool.
    private func spooledLines() throws -> [String] {
        let spool = directory.appendingPathComponent("spool/shipper.sqlite").path
        let dump = try ChildProcess("python3", [TestPaths.tool("spool_dump.py"), spool], name: "spool_dump")
        guard try dump.waitForExit(timeout: 60) == 0 else { throw ChildProcessError.failed(dump.text) }
        return dump.text.split(separator: "\n").map(String.init)
    }

    private func ackedLines(_ client: ChildProcess) -> [String] {
        client.text.split(separator: "\n").compactMap { line in
            let parts = line.split(separator: " ")
            guard parts.count == 3, parts[0] == "ACK" else { return nil }
            return "c\(parts[1]) line \(parts[2])"
        }
    }

    func testEveryAckedRecordSurvivesTwentyKillNineExactlyOnce() throws {
        // CloudWatch is unreachable, so every acked record must still be in the spool at the end.
        let endpoint = "http://127.0.0.1:9"
        var shipper = try ShipperProcess(config: try ShipperProcess.tutorialConfig(), directory: directory, endpoint: endpoint)
        let port = shipper.port
        let client = try ChildProcess("python3", [TestPaths.tool("acking_forward_client.py"), "--port", "\(port)", "--connections", "4", "--max-seconds", "240"],
                                      name: "acking_forward_client")
        var generator = SystemRandomNumberGenerator()
        for kill in 1...20 {
            // Kill at a random moment: after a random number of further acks.
            let target = ackedLines(client).count + Int.random(in: 5...60, using: &generator)
            try client.waitForOutput(timeout: 60, "\(target) acks before kill \(kill)") { $0.components(separatedBy: "ACK ").count - 1 >= target }
            shipper.child.kill9()
            shipper = try ShipperProcess(config: try ShipperProcess.tutorialConfig(port: port), directory: directory, endpoint: endpoint)
        }
        client.process.terminate()
        XCTAssertEqual(try client.waitForExit(timeout: 60), 0, client.text.suffix(2000).description)
        XCTAssertEqual(try shipper.child.terminate(), 0)

        let acked = ackedLines(client)
        let stored = try spooledLines()
        let counts = Dictionary(stored.map { ($0, 1) }, uniquingKeysWith: +)
        XCTAssertGreaterThan(acked.count, 100)
        let missing = acked.filter { counts[$0] == nil }
        XCTAssertEqual(missing, [], "acked records missing from the spool")
        let duplicated = counts.filter { $0.value > 1 }.keys.sorted()
        XCTAssertEqual(duplicated, [], "records stored more than once")
    }
}
