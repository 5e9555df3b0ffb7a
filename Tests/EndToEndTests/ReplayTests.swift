import Foundation
import XCTest
import Spool

/// `shipper replay` against delivery: the same spooled records, sent once by
/// `shipper run` and once by replay, each to a fake CloudWatch of its own,
/// leave the same events, groups and retention behind.
final class ReplayTests: XCTestCase {
    private var directory: URL!

    override func setUpWithError() throws {
        directory = try TestPaths.temporaryDirectory()
    }

    override func tearDownWithError() throws {
        try? FileManager.default.removeItem(at: directory)
    }

    private let group = "/replay/app"
    private let eventMaxSize = 200

    /// Two streams of short and over-`event_max_size` messages (one long one in
    /// multi-byte characters), a record 15 days old, and one the fake refuses.
    private func makeSpool(now: Int64) throws -> [SpoolRecord] {
        let folder = directory.appendingPathComponent("spool").path
        try FileManager.default.createDirectory(atPath: folder, withIntermediateDirectories: true)
        let spool = try Spool(configuration: .init(path: folder + "/shipper.sqlite"))
        defer { spool.close() }
        func record(_ stream: String, _ n: Int, _ log: String, age: Int64 = 0) -> SpoolRecord {
            SpoolRecord(output: .first, logGroup: group, logStream: stream, tag: "app", timeNanoseconds: now - age + Int64(n) * 1_000_000,
                        message: Array(#"{"log":"\#(log)"}"#.utf8))
        }
        let records = [
            record("task-a", 0, "a0"),
            record("task-a", 1, String(repeating: "x", count: 300)),
            record("task-a", 2, "a2 POISON"),
            record("task-a", 3, "a3"),
            record("task-b", 4, "b" + String(repeating: "é", count: 150)),
            record("task-b", 5, "b5 old", age: 15 * 86_400_000_000_000),
            record("task-b", 6, "b6"),
        ]
        try spool.append([SpoolAppend(chunk: nil, records: SpoolRecords(records))], durable: true)
        return records
    }

    private func config(oversize: String) -> String {
        """
        [SERVICE]
            Flush 0.2
        [INPUT]
            Name   forward
            Listen 127.0.0.1
            Port   0
        [OUTPUT]
            Name                cloudwatch_logs
            Match               *
            region              us-east-1
            log_group_name      \(group)
            log_stream_prefix   unused-
            auto_create_group   On
            log_retention_days  14
            log_group_class     INFREQUENT_ACCESS
            log_group_tags      team=ops, cost=logs
            event_max_size      \(eventMaxSize)
            oversize_events     \(oversize)
        """
    }

    /// What CloudWatch should hold: all but the old record and the refused one; over-size
    /// messages cut to `event_max_size` (192 x's after `{"log":"`; 95 é's after `{"log":"b`,
    /// as the 96th would be split) or left out.
    private func expected(_ records: [SpoolRecord], truncate: Bool) -> [FakeCloudWatch.State.Event] {
        let kept: [(Int, String)] = [(0, #"{"log":"a0"}"#), (3, #"{"log":"a3"}"#), (6, #"{"log":"b6"}"#)]
            + (truncate ? [(1, #"{"log":""# + String(repeating: "x", count: 192)), (4, #"{"log":"b"# + String(repeating: "é", count: 95))] : [])
        return kept.map { index, message in
            FakeCloudWatch.State.Event(group: group, stream: records[index].logStream, timestamp: records[index].timeNanoseconds / 1_000_000, message: message)
        }
    }

    private func sorted(_ events: [FakeCloudWatch.State.Event]) -> [FakeCloudWatch.State.Event] {
        events.sorted { ($0.stream, $0.timestamp) < ($1.stream, $1.timestamp) }
    }

    private func replayMatchesDelivery(oversize: String, file: StaticString = #filePath, line: UInt = #line) throws {
        let records = try makeSpool(now: Int64(Date().timeIntervalSince1970 * 1e9) - 60_000_000_000)
        let want = expected(records, truncate: oversize == "truncate")

        let delivery = try FakeCloudWatch(["--reject-message", "POISON"])
        let shipper = try ShipperProcess(config: config(oversize: oversize), directory: directory, endpoint: delivery.endpoint)
        try shipper.child.waitForLine("CloudWatch refuses an event for good; it goes to dead letters")
        try eventually(timeout: 60, "delivery of every record CloudWatch takes", file: file, line: line) { try delivery.state().events.count == want.count }
        XCTAssertEqual(try shipper.child.terminate(), 0, file: file, line: line)
        let delivered = try delivery.state()
        XCTAssertEqual(sorted(delivered.events), sorted(want), "delivery", file: file, line: line)

        let replayed = try FakeCloudWatch(["--reject-message", "POISON"])
        var environment = ShipperProcess.testKeys
        environment["HOME"] = directory.path
        environment["AWS_EC2_METADATA_DISABLED"] = "true"
        environment["AWS_ENDPOINT_URL"] = replayed.endpoint
        let replay = try ChildProcess(TestPaths.shipperBinary, ["replay", "-c", directory.appendingPathComponent("shipper.conf").path,
                                                                "--storage-path", directory.appendingPathComponent("spool").path, "--source", "all"],
                                      environment: environment, name: "shipper replay")
        XCTAssertEqual(try replay.waitForExit(timeout: 120), 0, replay.text, file: file, line: line)
        let again = try replayed.state()
        XCTAssertEqual(sorted(again.events), sorted(delivered.events), "replay against delivery", file: file, line: line)
        XCTAssertEqual(again.group_options, delivered.group_options, file: file, line: line)
        XCTAssertEqual(again.group_options[group], .init(tags: ["team": "ops", "cost": "logs"], class: "INFREQUENT_ACCESS"), file: file, line: line)
        XCTAssertEqual(again.retention, delivered.retention, file: file, line: line)
        XCTAssertEqual(again.retention, [group: 14], file: file, line: line)
        XCTAssertTrue(replay.text.contains("not sent: 1 records that delivery would send to dead letters (invalid)"), replay.text, file: file, line: line)
        XCTAssertTrue(replay.text.contains("not sent: 1 records that delivery would send to dead letters (tooOld)"), replay.text, file: file, line: line)
        XCTAssertEqual(replay.text.contains("(oversize)"), oversize == "dead_letter", replay.text, file: file, line: line)
    }

    func testReplayTruncatesOversizeEventsAndCreatesTheGroupAsDeliveryDoes() throws {
        try replayMatchesDelivery(oversize: "truncate")
    }

    func testReplayLeavesOutOversizeEventsAsDeliveryDeadLettersThem() throws {
        try replayMatchesDelivery(oversize: "dead_letter")
    }

    /// Each record goes out through its own stream's output: that output's endpoint (and region
    /// and credentials), whatever the environment's endpoint; `--output-name` takes one output's.
    func testReplaySendsEachStreamThroughItsOwnOutput() throws {
        let folder = directory.appendingPathComponent("spool").path
        try FileManager.default.createDirectory(atPath: folder, withIntermediateDirectories: true)
        let europe = SpoolOutput(index: 1, name: "europe")
        let now = Int64(Date().timeIntervalSince1970 * 1e9) - 60_000_000_000
        do {
            let spool = try Spool(configuration: .init(path: folder + "/shipper.sqlite"))
            defer { spool.close() }
            let records = (0..<5).map { n in
                SpoolRecord(output: n < 3 ? .first : europe, logGroup: group, logStream: "task-a", tag: "app", timeNanoseconds: now + Int64(n) * 1_000_000,
                            message: Array(#"{"log":"r\#(n)"}"#.utf8))
            }
            try spool.append([SpoolAppend(chunk: nil, records: SpoolRecords(records))], durable: true)
        }
        let first = try FakeCloudWatch()
        let second = try FakeCloudWatch()
        let output = { (alias: String, endpoint: String, region: String) in """
            [OUTPUT]
                Name                cloudwatch_logs
                \(alias)
                Match               *
                region              \(region)
                endpoint            \(endpoint)
                log_group_name      \(self.group)
                log_stream_prefix   unused-
                auto_create_group   On
            """ }
        let configPath = directory.appendingPathComponent("shipper.conf").path
        try ("[INPUT]\n    Name forward\n" + output("", first.endpoint, "us-east-1") + "\n" + output("Alias europe", second.endpoint, "eu-west-1"))
            .write(toFile: configPath, atomically: true, encoding: .utf8)
        var environment = ShipperProcess.testKeys
        environment["HOME"] = directory.path
        environment["AWS_EC2_METADATA_DISABLED"] = "true"
        environment["AWS_ENDPOINT_URL"] = "http://127.0.0.1:9"
        let replay = { (extra: [String]) throws -> ChildProcess in
            let child = try ChildProcess(TestPaths.shipperBinary, ["replay", "-c", configPath, "--storage-path", folder, "--source", "all"] + extra,
                                         environment: environment, name: "shipper replay")
            XCTAssertEqual(try child.waitForExit(timeout: 120), 0, child.text)
            return child
        }
        let messages = { (fake: FakeCloudWatch) in try fake.state().events.map(\.message).sorted() }

        _ = try replay(["--output-name", "eu*"])
        XCTAssertEqual(try messages(first), [], "only europe's records")
        XCTAssertEqual(try messages(second), [#"{"log":"r3"}"#, #"{"log":"r4"}"#])

        _ = try replay([])
        XCTAssertEqual(try messages(first), [#"{"log":"r0"}"#, #"{"log":"r1"}"#, #"{"log":"r2"}"#], "output 0's records at its endpoint only")
        XCTAssertEqual(try messages(second), [#"{"log":"r3"}"#, #"{"log":"r3"}"#, #"{"log":"r4"}"#, #"{"log":"r4"}"#], "europe's, once more")
    }
}
