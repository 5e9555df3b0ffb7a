import Foundation
import XCTest

/// `shipper spool salvage` with the real binary: a spool the shipper made
/// during an outage, damaged, salvaged into another shipper's live spool while
/// it runs and delivers.
final class SalvageTests: XCTestCase {
    private var directory: URL!

    override func setUpWithError() throws {
        directory = try TestPaths.temporaryDirectory()
    }

    override func tearDownWithError() throws {
        try? FileManager.default.removeItem(at: directory)
    }

    private func folder(_ name: String) throws -> URL {
        let url = directory.appendingPathComponent(name)
        try FileManager.default.createDirectory(at: url, withIntermediateDirectories: true)
        return url
    }

    private func python(_ arguments: [String]) throws -> String {
        let child = try ChildProcess("python3", [TestPaths.tool("damage_spool.py")] + arguments, name: "damage_spool")
        guard try child.waitForExit(timeout: 60) == 0 else { throw ChildProcessError.failed(child.text) }
        return child.text
    }

    /// Runs the salvage; returns its exit status and its JSON report.
    private func salvage(_ file: String, into spoolFolder: URL) throws -> (Int32, [String: Any]) {
        let child = try ChildProcess(TestPaths.shipperBinary, ["spool", "salvage", file, "--storage-path", spoolFolder.path, "--json"],
                                     environment: ["HOME": directory.path, "PATH": "/usr/bin:/bin"], name: "shipper spool salvage")
        let status = try child.waitForExit(timeout: 120)
        let line = try XCTUnwrap(child.text.split(separator: "\n").first { $0.hasPrefix("{") }, child.text)
        return (status, try XCTUnwrap(try JSONSerialization.jsonObject(with: Data(line.utf8)) as? [String: Any]))
    }

    private func ids(_ ranges: Any?) throws -> Set<Int> {
        let list = try XCTUnwrap((ranges as? [String: Any])?["ranges"] as? [[String: Any]])
        return Set(list.flatMap { range in ((range["first"] as? Int) ?? 0)...((range["last"] as? Int) ?? -1) })
    }

    func testADamagedSpoolsReadableUndeliveredRecordsAreDeliveredOnceBySalvage() throws {
        // A spool made during an outage: every record acked, none delivered.
        let old = try folder("old")
        let outage = try ShipperProcess(config: try ShipperProcess.tutorialConfig(), directory: old, endpoint: "http://127.0.0.1:9")
        let acked = try sendDockerRecords(port: outage.port, count: 800, ack: true, extra: ["--task", "aaaa1111"])
            + sendDockerRecords(port: outage.port, count: 800, start: 800, ack: true, extra: ["--task", "bbbb2222"])
        XCTAssertEqual(acked.count, 1600)
        XCTAssertEqual(try outage.child.terminate(), 0)

        // A damaged copy: two pages of records overwritten in the middle, the last pages cut off.
        let damaged = directory.appendingPathComponent("shipper.sqlite.corrupt-test").path
        try FileManager.default.copyItem(atPath: old.appendingPathComponent("spool/shipper.sqlite").path, toPath: damaged)
        var original: [Int: String] = [:]
        for line in try python(["dump", damaged]).split(separator: "\n") {
            let object = try XCTUnwrap(try JSONSerialization.jsonObject(with: Data(line.utf8)) as? [String: Any])
            original[try XCTUnwrap(object["id"] as? Int)] = try XCTUnwrap(object["message"] as? String)
        }
        XCTAssertEqual(original.count, 1600)
        _ = try python(["damage", damaged, "--pages", "2", "--truncate-pages", "2"])

        // The live shipper, delivering to a working CloudWatch, with records of its own.
        let fake = try FakeCloudWatch()
        let live = try folder("live")
        let shipper = try ShipperProcess(config: try ShipperProcess.tutorialConfig(), directory: live, endpoint: fake.endpoint)
        let own = try sendDockerRecords(port: shipper.port, count: 20, ack: true, extra: ["--task", "cccc3333"])
        XCTAssertEqual(own.count, 20)

        let started = Date()
        let (status, report) = try salvage(damaged, into: live.appendingPathComponent("spool"))
        print("salvage of 1600 records took \(String(format: "%.2f", Date().timeIntervalSince(started))) s: \(report)")
        XCTAssertEqual(status, 4, "some of the file could not be read")
        let unreadable = try ids(report["unreadableRecords"])
        XCTAssertFalse(unreadable.isEmpty)
        let expected = original.filter { !unreadable.contains($0.key) }
        XCTAssertGreaterThan(expected.count, 1000, "damage costs only the rows of the damaged pages")
        XCTAssertEqual(report["recordsRead"] as? Int, expected.count)
        XCTAssertEqual(report["copied"] as? Int, expected.count, "nothing was delivered, so every readable record is copied")
        XCTAssertEqual(report["alreadyDelivered"] as? Int, 0)
        XCTAssertEqual(report["alreadySalvaged"] as? Int, 0)
        XCTAssertEqual(report["streamsRead"] as? Int, 2)
        XCTAssertEqual(report["streamsCopiedTo"] as? Int, 2)
        XCTAssertEqual(try ids(report["missingShape"]), [])

        // Every readable record arrives once, with its message as it was.
        try eventually(timeout: 120, "the salvaged and the live records in CloudWatch") {
            try fake.state().events.count >= expected.count + 20
        }
        let events = try fake.state().events
        let salvaged = events.map(\.message).filter { !$0.contains("cccc3333") }
        XCTAssertEqual(salvaged.sorted(), expected.values.sorted(), "each readable record delivered exactly once, byte for byte")
        XCTAssertEqual(events.count - salvaged.count, 20, "the live shipper's own records too")

        // Again: nothing is copied twice.
        let (againStatus, again) = try salvage(damaged, into: live.appendingPathComponent("spool"))
        XCTAssertEqual(againStatus, 4)
        XCTAssertEqual(again["copied"] as? Int, 0)
        XCTAssertEqual(again["alreadySalvaged"] as? Int, expected.count)
        XCTAssertEqual(try shipper.child.terminate(), 0)
        XCTAssertEqual(try fake.state().events.count, expected.count + 20, "no record delivered twice")
    }
    func testTheMoveAsideLogLineNamesTheCommandAndAFileOfGarbageIsNoSpool() throws {
        let spool = try folder("spool")
        try Data(repeating: 0x5a, count: 8192).write(to: spool.appendingPathComponent("shipper.sqlite"))
        let shipper = try ShipperProcess(config: try ShipperProcess.tutorialConfig(), directory: directory, endpoint: "http://127.0.0.1:9")
        let moved = try shipper.child.waitForLine(#"Run `shipper spool salvage (\S+)` to recover its undelivered records"#, timeout: 10)
        XCTAssertTrue(moved.hasPrefix(spool.appendingPathComponent("shipper.sqlite.corrupt-").path), moved)
        XCTAssertTrue(FileManager.default.fileExists(atPath: moved))

        let child = try ChildProcess(TestPaths.shipperBinary, ["spool", "salvage", moved, "--storage-path", spool.path],
                                     environment: ["HOME": directory.path, "PATH": "/usr/bin:/bin"], name: "shipper spool salvage")
        XCTAssertEqual(try child.waitForExit(timeout: 60), 5, "exit code 5: not a spool; \(child.text)")
        XCTAssertTrue(child.text.contains("is not a readable spool"), child.text)
        XCTAssertEqual(try shipper.child.terminate(), 0)
    }
}
