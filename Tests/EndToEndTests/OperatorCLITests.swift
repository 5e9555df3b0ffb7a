import Foundation
import XCTest
import Spool

/// The operator's commands, run as the real binary against a spool the test made.
final class OperatorCLITests: XCTestCase {
    private var directory: URL!
    private var spoolFolder: String { directory.appendingPathComponent("spool").path }

    override func setUpWithError() throws {
        directory = try TestPaths.temporaryDirectory()
    }

    override func tearDownWithError() throws {
        try? FileManager.default.removeItem(at: directory)
    }

    private let base: Int64 = 1_795_600_000_000_000_000

    /// Stream a: a0..a4, of which a0...a2 delivered; stream b: b0..b3 undelivered; a dead letter from a1.
    private func makeSpool() throws {
        try FileManager.default.createDirectory(atPath: spoolFolder, withIntermediateDirectories: true)
        let spool = try Spool(configuration: .init(path: spoolFolder + "/shipper.sqlite"))
        defer { spool.close() }
        func record(_ stream: String, _ n: Int) -> SpoolRecord {
            SpoolRecord(output: .first, logGroup: "/aws/ecs/\(stream)", logStream: "task-\(stream)", tag: "out.\(stream)",
                        timeNanoseconds: base + Int64(n) * 60_000_000_000, message: Array("{\"log\":\"\(stream)\(n)\"}".utf8))
        }
        try spool.append([SpoolAppend(chunk: nil, records: SpoolRecords((0..<5).map { record("a", $0) })),
                          SpoolAppend(chunk: nil, records: SpoolRecords((0..<4).map { record("b", $0) }))], durable: true)
        let a = try XCTUnwrap(try spool.streamsWithPendingRecords().first { $0.logStream == "task-a" })
        let pending = try spool.undelivered(stream: a.id, limit: 10)
        try spool.markDelivered(stream: a.id, through: pending[2].id, deadLetters: [DeadLetter(recordID: pending[1].id, reason: "tooOld")])
    }

    private func shipper(_ arguments: [String], input: Data? = nil, status expected: Int32 = 0, file: StaticString = #filePath, line: UInt = #line) throws -> String {
        let child = try ChildProcess(TestPaths.shipperBinary, arguments, environment: ["HOME": directory.path, "AWS_EC2_METADATA_DISABLED": "true", "PATH": "/usr/bin:/bin"],
                                     name: "shipper \(arguments.first ?? "")", input: input)
        XCTAssertEqual(try child.waitForExit(timeout: 60), expected, child.text, file: file, line: line)
        return child.text
    }

    private func messages(_ ndjson: String) -> [String] {
        ndjson.split(separator: "\n").compactMap { line in
            (try? JSONSerialization.jsonObject(with: Data(line.utf8)) as? [String: Any])?["message"] as? String
        }
    }

    func testEveryCommandHasHelp() throws {
        for command in [[], ["run"], ["check-config"], ["status"], ["replay"], ["spool"], ["spool", "stats"], ["spool", "export"], ["spool", "vacuum"], ["spool", "salvage"], ["cat"]] {
            let text = try shipper(command + ["--help"])
            XCTAssertTrue(text.contains("USAGE"), "\(command): \(text)")
        }
    }

    func testStatusAndStatsCountWhatTheSpoolHolds() throws {
        try makeSpool()
        let json = try shipper(["status", "--storage-path", spoolFolder, "--json"])
        let report = try XCTUnwrap(try JSONSerialization.jsonObject(with: Data(json.utf8)) as? [String: Any])
        let streams = try XCTUnwrap(report["streams"] as? [[String: Any]])
        let byStream = Dictionary(uniqueKeysWithValues: streams.map { ($0["logStream"] as? String ?? "", $0) })
        XCTAssertEqual(byStream["task-a"]?["undeliveredRecords"] as? Int, 2)
        XCTAssertEqual(byStream["task-a"]?["deadLetters"] as? Int, 1)
        XCTAssertEqual(byStream["task-b"]?["undeliveredRecords"] as? Int, 4)
        XCTAssertEqual(byStream["task-b"]?["undeliveredBytes"] as? Int, 4 * #"{"log":"b0"}"#.utf8.count)
        XCTAssertNotNil(byStream["task-a"]?["lastDelivered"])
        XCTAssertEqual(byStream["task-a"]?["output"] as? String, "cloudwatch_logs.0", "each stream names its output")

        let table = try shipper(["status", "--storage-path", spoolFolder])
        XCTAssertTrue(table.contains("LOG GROUP"), table)
        XCTAssertTrue(table.hasPrefix("OUTPUT") && table.contains("cloudwatch_logs.0"), table)
        XCTAssertTrue(table.contains("/aws/ecs/b"), table)

        let stats = try XCTUnwrap(try JSONSerialization.jsonObject(with: Data(try shipper(["spool", "stats", "--storage-path", spoolFolder, "--json"]).utf8)) as? [String: Any])
        XCTAssertEqual(stats["records"] as? Int, 9)
        XCTAssertEqual(stats["undeliveredRecords"] as? Int, 6)
        XCTAssertEqual(stats["deadLetters"] as? Int, 1)
    }

    func testReplaySelectsExactlyTheRightRecordsAsNDJSON() throws {
        try makeSpool()
        let undeliveredOfA = try shipper(["replay", "--storage-path", spoolFolder, "--source", "undelivered", "--group", "/aws/ecs/a*", "--stdout"])
        XCTAssertEqual(messages(undeliveredOfA), [#"{"log":"a3"}"#, #"{"log":"a4"}"#])
        let delivered = try shipper(["replay", "--storage-path", spoolFolder, "--source", "delivered", "--stdout"])
        XCTAssertEqual(messages(delivered), [#"{"log":"a0"}"#, #"{"log":"a1"}"#, #"{"log":"a2"}"#])
        let dead = try shipper(["replay", "--storage-path", spoolFolder, "--source", "dead-letters", "--stdout"])
        XCTAssertEqual(messages(dead), [#"{"log":"a1"}"#])
        XCTAssertTrue(dead.contains(#""dead_letter_reason":"tooOld""#), dead)
        // Minutes 1 to 2 of stream b, by RFC 3339 time; and tags by wildcard.
        let since = NDJSONTime.rfc3339(base + 60_000_000_000)
        let until = NDJSONTime.rfc3339(base + 120_000_000_000)
        let window = try shipper(["replay", "--storage-path", spoolFolder, "--tag", "out.b", "--since", since, "--until", until, "--stdout"])
        XCTAssertEqual(messages(window), [#"{"log":"b1"}"#, #"{"log":"b2"}"#])
        XCTAssertTrue(try shipper(["replay", "--storage-path", spoolFolder, "--stream", "task-*", "--dry-run"]).contains("would replay 9 records"))
        XCTAssertTrue(try shipper(["replay", "--storage-path", spoolFolder, "--output-name", "cloudwatch_logs.*", "--dry-run"]).contains("would replay 9 records"))
        XCTAssertTrue(try shipper(["replay", "--storage-path", spoolFolder, "--output-name", "europe", "--dry-run"]).contains("would replay 0 records"))
        XCTAssertTrue(delivered.hasPrefix(#"{"output":"cloudwatch_logs.0","log_group":"/aws/ecs/a""#), delivered)
        let exported = directory.appendingPathComponent("export.ndjson").path
        _ = try shipper(["spool", "export", "--storage-path", spoolFolder, "--source", "undelivered", "--output", exported])
        XCTAssertEqual(messages(try String(contentsOfFile: exported, encoding: .utf8)).count, 6)
        _ = try shipper(["spool", "vacuum", "--storage-path", spoolFolder])
        _ = try shipper(["replay", "--storage-path", spoolFolder, "--source", "nonsense", "--stdout"], status: 64)
    }

    func testReplayToAnotherGroupAndStreamThroughCloudWatch() throws {
        try makeSpool()
        let fake = try FakeCloudWatch()
        let config = directory.appendingPathComponent("replay.conf").path
        try """
            [INPUT]
                Name forward
            [OUTPUT]
                Name              cloudwatch_logs
                Match             *
                region            us-east-1
                endpoint          \(fake.endpoint)
                log_group_name    unused
                log_stream_prefix unused-
                auto_create_group On
            """.write(toFile: config, atomically: true, encoding: .utf8)
        let child = try ChildProcess(TestPaths.shipperBinary, ["replay", "-c", config, "--storage-path", spoolFolder, "--source", "delivered",
                                                               "--to-group", "/replayed", "--to-stream", "again"],
                                     environment: ["HOME": directory.path, "AWS_ACCESS_KEY_ID": "k", "AWS_SECRET_ACCESS_KEY": "s", "AWS_EC2_METADATA_DISABLED": "true"],
                                     name: "shipper replay")
        XCTAssertEqual(try child.waitForExit(timeout: 60), 0, child.text)
        XCTAssertTrue(child.text.contains("3/3 records"), child.text)
        let events = try fake.state().events
        XCTAssertEqual(events.map(\.message), [#"{"log":"a0"}"#, #"{"log":"a1"}"#, #"{"log":"a2"}"#])
        XCTAssertEqual(Set(events.map { "\($0.group) \($0.stream)" }), ["/replayed again"])
        XCTAssertEqual(events.map(\.timestamp), [0, 1, 2].map { (base + Int64($0) * 60_000_000_000) / 1_000_000 })
    }

    func testCatSendsLinesAndTheMetricsEndpointCountsThem() throws {
        let fake = try FakeCloudWatch()
        let config = try ShipperProcess.tutorialConfig(service: "    HTTP_Server On\n    HTTP_Port   0\n")
            .replacingOccurrences(of: "Match               out.*", with: "Match               *")
        let running = try ShipperProcess(config: config, directory: directory, endpoint: fake.endpoint)
        let metricsPort = try running.child.waitForLine(#"monitoring endpoint listening .*port=(\d+)"#)
        let lines = (1...25).map { "cat line \($0)" }.joined(separator: "\n") + "\n"
        let cat = try shipper(["cat", "-t", "smoke", "--port", "\(running.port)", "--ack"], input: Data(lines.utf8))
        XCTAssertTrue(cat.contains("sent 25 lines, all acked"), cat)
        try eventually(timeout: 60, "25 events delivered") { try fake.lines().count == 25 }

        let url = "http://127.0.0.1:\(metricsPort)"
        var metrics = ""
        try eventually(timeout: 30, "the delivered events counted") {
            metrics = (try? String(contentsOf: URL(string: url + "/api/v1/metrics/prometheus")!, encoding: .utf8)) ?? ""
            return metrics.contains(#"shipper_output_records_total{name="cloudwatch_logs.0"} 25"#)
        }
        XCTAssertTrue(metrics.contains("shipper_input_records_total 25"), metrics)
        XCTAssertTrue(metrics.contains(#"shipper_input_connections_total{name="forward.0"} 1"#), metrics)
        XCTAssertTrue(metrics.contains("shipper_backpressure 0"), metrics)
        XCTAssertTrue(metrics.contains("shipper_output_streams_waiting 0"), "the process's slots, no output label: \(metrics)")
        XCTAssertTrue(metrics.contains("# TYPE shipper_output_batches_in_flight gauge"), metrics)
        XCTAssertTrue(metrics.contains("# TYPE shipper_output_retries_total counter"), metrics)
        XCTAssertEqual(try String(contentsOf: URL(string: url + "/api/v1/health")!, encoding: .utf8), "ok\n")
        let status = try shipper(["status", "--url", url, "--storage-path", directory.appendingPathComponent("spool").path, "--json"])
        XCTAssertTrue(status.contains(#""logStream" : "task-ecs.smoke""#), status)
        // A replay reads the spool beside the running shipper.
        let replayed = try shipper(["replay", "--storage-path", directory.appendingPathComponent("spool").path, "--source", "delivered", "--stdout"])
        XCTAssertEqual(messages(replayed).count, 25)
        XCTAssertEqual(messages(replayed).first, #"{"log":"cat line 1"}"#)
        XCTAssertEqual(try running.child.terminate(), 0)
    }

    /// The monitoring endpoint's threads are a fixed few: a thousand idle connections cost
    /// sockets, not threads, a scrape is answered beside them, and they are closed at the deadline.
    func testAThousandIdleMonitoringConnectionsLeaveTheThreadsFlatAndScrapesAnswered() throws {
        let config = try ShipperProcess.tutorialConfig(service: "    HTTP_Server On\n    HTTP_Port   0\n")
        let running = try ShipperProcess(config: config, directory: directory, endpoint: "http://127.0.0.1:9")
        let metricsPort = try running.child.waitForLine(#"monitoring endpoint listening .*port=(\d+)"#)
        func threads() throws -> Int {
            let status = try String(contentsOfFile: "/proc/\(running.child.process.processIdentifier)/status", encoding: .utf8)
            return status.split(separator: "\n").first { $0.hasPrefix("Threads:") }.flatMap { Int($0.split(separator: "\t").last ?? "") } ?? 0
        }
        let before = try threads()
        let idle = try ChildProcess("python3", ["-c", """
            import resource, socket, sys, time
            resource.setrlimit(resource.RLIMIT_NOFILE, (4096, 4096))
            held = [socket.create_connection(("127.0.0.1", \(metricsPort))) for _ in range(1000)]
            print("HELD", len(held), flush=True)
            time.sleep(30)
            """], name: "idle http clients")
        try idle.waitForLine("HELD 1000", timeout: 60)
        let started = Date()
        XCTAssertEqual(try String(contentsOf: URL(string: "http://127.0.0.1:\(metricsPort)/api/v1/health")!, encoding: .utf8), "ok\n")
        XCTAssertLessThan(Date().timeIntervalSince(started), 2, "a scrape is answered beside the idle connections")
        let during = try threads()
        XCTAssertLessThanOrEqual(during, before + 2, "threads before: \(before), with 1,000 idle connections: \(during)")
        idle.kill9()
        XCTAssertEqual(try running.child.terminate(), 0)
    }
}

/// The NDJSON writer's time format, for building `--since` arguments.
enum NDJSONTime {
    static func rfc3339(_ nanoseconds: Int64) -> String {
        let formatter = ISO8601DateFormatter()
        return formatter.string(from: Date(timeIntervalSince1970: TimeInterval(nanoseconds / 1_000_000_000)))
    }
}
