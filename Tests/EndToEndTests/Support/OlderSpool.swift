import Foundation
import XCTest

/// A spool as an older release left it, for the upgrade tests: 120 acked
/// records of two streams stored by a shipper stopped during an outage, then
/// `downgrade` (a Python script given the spool's path) rewrites the file as
/// that release wrote it. The next start must upgrade it in place, log each
/// line of `upgradeLines` (patterns), and deliver every record once.
func assertAnOlderSpoolIsUpgradedAndDeliveredOnce(directory: URL, version: Int, downgrade: String, upgradeLines: [String],
                                                   file: StaticString = #filePath, line: UInt = #line) throws {
    var shipper = try ShipperProcess(config: try ShipperProcess.tutorialConfig(), directory: directory, endpoint: "http://127.0.0.1:9")
    let port = shipper.port
    let acked = try sendDockerRecords(port: port, count: 60, ack: true, extra: ["--task", "ffff0001"])
        + sendDockerRecords(port: port, count: 60, start: 60, ack: true, extra: ["--task", "ffff0002"])
    XCTAssertEqual(try shipper.child.terminate(timeout: 30), 0, file: file, line: line)
    let spool = directory.appendingPathComponent("spool/shipper.sqlite").path
    let old = try ChildProcess("python3", ["-c", downgrade, spool], name: "downgrade to format \(version)")
    XCTAssertEqual(try old.waitForExit(timeout: 30), 0, old.text, file: file, line: line)

    let fake = try FakeCloudWatch()
    shipper = try ShipperProcess(config: try ShipperProcess.tutorialConfig(port: port), directory: directory, endpoint: fake.endpoint)
    try shipper.child.waitForLine("upgrading the spool's format in place from=\(version) ", file: file, line: line)
    for pattern in upgradeLines { try shipper.child.waitForLine(pattern, file: file, line: line) }
    let expected = Set(acked.map { "line \($0)" })
    try eventually(timeout: 60, "the 120 records of the old spool", file: file, line: line) { Set(try fake.lines()) == expected }
    XCTAssertEqual(try fake.lines().count, 120, "each record once", file: file, line: line)
    XCTAssertEqual(try shipper.child.terminate(), 0, file: file, line: line)
}
