import Foundation
import XCTest

/// Several `[OUTPUT]` sections kept apart, with the real binary and two fake
/// CloudWatch endpoints: each output sends exactly what its `Match` routed,
/// through its own endpoint, and names itself in the metrics and status.
final class OutputsTests: XCTestCase {
    private var directory: URL!

    override func setUpWithError() throws {
        directory = try TestPaths.temporaryDirectory()
    }

    override func tearDownWithError() throws {
        try? FileManager.default.removeItem(at: directory)
    }

    private func lines(_ sequences: [Int]) -> [String] {
        sequences.map { "line \($0)" }
    }

    /// The tutorial's config with its one output made two: output 0 takes the containers
    /// named `a-*`, `europe` (another region) those named `*-b`; both write the same
    /// group and stream names, so a container named `a-b` goes to one group and stream
    /// of each endpoint. The environment's endpoint (`AWS_ENDPOINT_URL`) is one nobody
    /// answers: a record sent by the wrong output's settings is not delivered at all.
    /// Without `second`, the config has output 0 only.
    private func twoOutputsConfig(first: String, second: String?, port: Int = 0) throws -> String {
        let config = try ShipperProcess.tutorialConfig(port: port, service: "    HTTP_Server On\n    HTTP_Port   0\n")
        let tutorialOutput = "    Match               out.*\n"
        guard config.contains(tutorialOutput), let outputStart = config.range(of: "[OUTPUT]") else {
            throw ChildProcessError.failed("ops/config/cloudwatch.conf no longer has its one [OUTPUT] with Match out.*")
        }
        let output = String(config[outputStart.lowerBound...])
        let firstOutput = output.replacingOccurrences(of: tutorialOutput, with: "    Match               out.*.a-*\n    endpoint            \(first)\n")
        let secondOutput = second.map { second in
            output.replacingOccurrences(of: tutorialOutput, with: "    Alias               europe\n    Match               out.*.*-b\n    endpoint            \(second)\n")
                .replacingOccurrences(of: "region              us-east-1", with: "region              eu-west-1")
        }
        return String(config[..<outputStart.lowerBound]) + firstOutput + (secondOutput.map { "\n" + $0 } ?? "")
    }

    func testTwoOutputsEachReceiveExactlyTheRecordsTheirMatchRouted() throws {
        let first = try FakeCloudWatch()
        let second = try FakeCloudWatch()
        let shipper = try ShipperProcess(config: try twoOutputsConfig(first: first.endpoint, second: second.endpoint), directory: directory, endpoint: "http://127.0.0.1:9")
        let metricsPort = try shipper.child.waitForLine(#"monitoring endpoint listening .*port=(\d+)"#)
        let firstOnly = try sendDockerRecords(port: shipper.port, count: 40, ack: true, extra: ["--container", "a-only"])
        let secondOnly = try sendDockerRecords(port: shipper.port, count: 30, start: 100, ack: true, extra: ["--container", "only-b"])
        let both = try sendDockerRecords(port: shipper.port, count: 20, start: 200, ack: true, extra: ["--container", "a-b"])
        XCTAssertEqual([firstOnly.count, secondOnly.count, both.count], [40, 30, 20], "every record acked")

        let expectedFirst = lines(firstOnly + both).sorted()
        let expectedSecond = lines(secondOnly + both).sorted()
        try eventually(timeout: 60, "each endpoint holding its 60 and 50 records") {
            try first.lines().count >= expectedFirst.count && second.lines().count >= expectedSecond.count
        }
        // Every record counted: exactly its own at each endpoint, none twice, none of the other's.
        XCTAssertEqual(try first.lines().sorted(), expectedFirst)
        XCTAssertEqual(try second.lines().sorted(), expectedSecond)
        let firstStreams = Set(try first.state().events.map { "\($0.group) \($0.stream)" })
        let secondStreams = Set(try second.state().events.map { "\($0.group) \($0.stream)" })
        XCTAssertEqual(firstStreams.count, 2, "a-only and a-b: \(firstStreams)")
        XCTAssertEqual(secondStreams.count, 2, "only-b and a-b: \(secondStreams)")
        XCTAssertEqual(firstStreams.intersection(secondStreams).count, 1, "a-b is the same group and stream at both endpoints")

        let url = "http://127.0.0.1:\(metricsPort)"
        var metrics = ""
        try eventually(timeout: 30, "the metrics of both outputs") {
            metrics = (try? String(contentsOf: URL(string: url + "/api/v1/metrics/prometheus")!, encoding: .utf8)) ?? ""
            return metrics.contains(#"shipper_output_records_total{name="cloudwatch_logs.0"} 60"#)
                && metrics.contains(#"shipper_output_records_total{name="europe"} 50"#)
        }
        XCTAssertTrue(metrics.contains(#"shipper_output_rejected_records_total{name="europe"} 0"#), metrics)
        let status = try XCTUnwrap(try JSONSerialization.jsonObject(with: Data(contentsOf: URL(string: url + "/api/v1/status")!)) as? [String: Any])
        let streams = try XCTUnwrap(status["streams"] as? [[String: Any]])
        let outputs = streams.compactMap { $0["output"] as? String }
        XCTAssertEqual(outputs.sorted(), ["cloudwatch_logs.0", "cloudwatch_logs.0", "europe", "europe"], "status names each stream's output")
        XCTAssertEqual(try shipper.child.terminate(), 0)
    }

    /// An output whose endpoint does not answer holds back only its own records: the other
    /// output delivers a record both match, and the metrics say which output is behind.
    func testAnOutputThatCannotSendHoldsBackOnlyItsOwnRecords() throws {
        let first = try FakeCloudWatch()
        let shipper = try ShipperProcess(config: try twoOutputsConfig(first: first.endpoint, second: "http://127.0.0.1:9"),
                                         directory: directory, endpoint: "http://127.0.0.1:9")
        let metricsPort = try shipper.child.waitForLine(#"monitoring endpoint listening .*port=(\d+)"#)
        let both = try sendDockerRecords(port: shipper.port, count: 10, ack: true, extra: ["--container", "a-b"])
        try eventually(timeout: 60, "output 0's copy of the 10 records") { try first.lines().sorted() == lines(both).sorted() }
        var metrics = ""
        try eventually(timeout: 30, "europe's backlog in the metrics") {
            metrics = (try? String(contentsOf: URL(string: "http://127.0.0.1:\(metricsPort)/api/v1/metrics/prometheus")!, encoding: .utf8)) ?? ""
            return metrics.range(of: #"shipper_oldest_undelivered_age_seconds\{log_group="[^"]+",name="europe"\} \d"#, options: .regularExpression) != nil
                && metrics.range(of: #"shipper_output_retries_total\{name="europe"\} [1-9]"#, options: .regularExpression) != nil
        }
        XCTAssertTrue(metrics.contains(#"shipper_output_records_total{name="cloudwatch_logs.0"} 10"#), metrics)
        XCTAssertTrue(metrics.contains(#"shipper_output_records_total{name="europe"} 0"#), metrics)
        XCTAssertNil(metrics.range(of: #"shipper_oldest_undelivered_age_seconds\{[^}]*name="cloudwatch_logs\.0""#, options: .regularExpression),
                     "output 0 has nothing undelivered: \(metrics)")
        XCTAssertEqual(try shipper.child.terminate(), 0)
    }

    /// The records of an output taken out of the config stay in the spool, are not sent by
    /// another output's settings (nor by replay), and go out once the output is back.
    func testTheRecordsOfAnOutputTakenOutOfTheConfigWaitForItsReturn() throws {
        let first = try FakeCloudWatch()
        var shipper = try ShipperProcess(config: try twoOutputsConfig(first: first.endpoint, second: "http://127.0.0.1:9"),
                                         directory: directory, endpoint: "http://127.0.0.1:9")
        let port = shipper.port
        let europe = try sendDockerRecords(port: port, count: 10, ack: true, extra: ["--container", "only-b"])
        XCTAssertEqual(europe.count, 10)
        XCTAssertEqual(try shipper.child.terminate(), 0)

        shipper = try ShipperProcess(config: try twoOutputsConfig(first: first.endpoint, second: nil, port: port), directory: directory, endpoint: "http://127.0.0.1:9")
        try shipper.child.waitForLine("records of an output the config no longer has stay in the spool; .*output=europe output_index=1")
        let replay = try ChildProcess(TestPaths.shipperBinary, ["replay", "-c", directory.appendingPathComponent("shipper.conf").path,
                                                                "--storage-path", directory.appendingPathComponent("spool").path, "--source", "undelivered"],
                                      environment: ShipperProcess.testKeys.merging(["HOME": directory.path, "AWS_EC2_METADATA_DISABLED": "true"]) { $1 },
                                      name: "shipper replay")
        XCTAssertEqual(try replay.waitForExit(timeout: 60), 4, replay.text)
        XCTAssertTrue(replay.text.contains("the records belong to output europe (output 1) and the config has 1 output(s)"), replay.text)
        XCTAssertEqual(try first.lines(), [], "nothing went out through output 0")
        XCTAssertEqual(try shipper.child.terminate(), 0)

        let second = try FakeCloudWatch()
        shipper = try ShipperProcess(config: try twoOutputsConfig(first: first.endpoint, second: second.endpoint, port: port),
                                     directory: directory, endpoint: "http://127.0.0.1:9")
        try eventually(timeout: 60, "europe's 10 records once it is back") { try second.lines().count >= 10 }
        XCTAssertEqual(try second.lines().sorted(), lines(europe).sorted())
        XCTAssertEqual(try first.lines(), [])
        XCTAssertEqual(try shipper.child.terminate(), 0)
    }

    /// A spool written by the release before (format 3: streams without their output) is
    /// upgraded in place, its streams given to the output that sent them then, and
    /// everything it held is delivered once.
    func testAFormat3SpoolIsUpgradedAndDeliveredOnce() throws {
        // What format 3 was: the streams without their output, unique over group and stream.
        try assertAnOlderSpoolIsUpgradedAndDeliveredOnce(directory: directory, version: 3, streamsColumns: OlderStreamsColumns.format3, upgradeLines: [
            #"spool streams assigned to the outputs that send them assigned="2 to cloudwatch_logs\.0 \(output 0\)""#])
    }
}
