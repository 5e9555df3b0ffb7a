import Foundation
import XCTest

/// The streams table's columns (after `id`) as formats 2 and 3 had them.
enum OlderStreamsColumns {
    static let format2 = ["log_group TEXT NOT NULL", "log_stream TEXT NOT NULL", "delivered_through INTEGER NOT NULL DEFAULT 0"]
    static let format3 = format2 + [
        "records INTEGER NOT NULL DEFAULT 0", "pending_records INTEGER NOT NULL DEFAULT 0", "pending_bytes INTEGER NOT NULL DEFAULT 0",
        "dead_letters INTEGER NOT NULL DEFAULT 0", "last_delivered_at INTEGER",
    ]
}

/// A spool as an older release left it, for the upgrade tests: 120 acked
/// records of two streams stored by a shipper stopped during an outage, then
/// the file rewritten by Python's sqlite3 as that release wrote it: the
/// streams table with `streamsColumns` (unique over group and stream), ids and
/// sequence kept, and `version`. The next start must upgrade it in place, log
/// each line of `upgradeLines` (patterns), and deliver every record once.
func assertAnOlderSpoolIsUpgradedAndDeliveredOnce(directory: URL, version: Int, streamsColumns: [String], upgradeLines: [String],
                                                   file: StaticString = #filePath, line: UInt = #line) throws {
    var shipper = try ShipperProcess(config: try ShipperProcess.tutorialConfig(), directory: directory, endpoint: "http://127.0.0.1:9")
    let port = shipper.port
    let acked = try sendDockerRecords(port: port, count: 60, ack: true, extra: ["--task", "ffff0001"])
        + sendDockerRecords(port: port, count: 60, start: 60, ack: true, extra: ["--task", "ffff0002"])
    XCTAssertEqual(try shipper.child.terminate(timeout: 30), 0, file: file, line: line)
    let spool = directory.appendingPathComponent("spool/shipper.sqlite").path
    let names = (["id"] + streamsColumns.map { String($0.prefix { $0 != " " }) }).joined(separator: ", ")
    let downgrade = """
        import sqlite3, sys
        db = sqlite3.connect(sys.argv[1])
        db.executescript('''
        BEGIN;
        CREATE TABLE streams_old(id INTEGER PRIMARY KEY AUTOINCREMENT, \(streamsColumns.joined(separator: ", ")), UNIQUE(log_group, log_stream));
        INSERT INTO streams_old(\(names)) SELECT \(names) FROM streams;
        DROP TABLE streams;
        ALTER TABLE streams_old RENAME TO streams;
        PRAGMA user_version = \(version);
        COMMIT;
        ''')
        """
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
