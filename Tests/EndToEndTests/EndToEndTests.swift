import Foundation
import XCTest

/// The whole product, as a user runs it: the real `shipper` binary on the
/// tutorial's config, real forward clients (Python fluent-logger and msgpack),
/// and moto_server as the CloudWatch Logs API.
final class EndToEndTests: XCTestCase {
    private var directory: URL!

    override func setUpWithError() throws {
        directory = try TestPaths.temporaryDirectory()
    }

    override func tearDownWithError() throws {
        try? FileManager.default.removeItem(at: directory)
    }

    func testTutorialPipelineDeliversDockerRecordsToTheTutorialGroupAndStream() throws {
        let moto = try MotoServer()
        let shipper = try ShipperProcess(config: try ShipperProcess.tutorialConfig(), directory: directory, endpoint: moto.endpoint)
        let eventTime = Int(Date().timeIntervalSince1970) - 60
        try sendDockerRecords(port: shipper.port, count: 20, ack: false, extra: ["--time", "\(eventTime)"])

        var events: [CloudWatchEvent] = []
        try eventually("20 events in moto") {
            events = try moto.events()
            return events.count >= 20
        }
        XCTAssertEqual(events.count, 20)
        XCTAssertEqual(Set(events.map(\.group)), ["/aws/ecs/FluentBit-cluster.windows-app-task"])
        XCTAssertEqual(Set(events.map(\.stream)), ["task-out.13f4d9e1a2b34c5d.sample-container"])
        XCTAssertEqual(Set(events.map(\.timestamp)), [Int64(eventTime) * 1000])
        let expected = #"{"container_id":"61f5e60000000000000000000000000000000000000000000000000000000000","container_name":"/ecs-windows-app-task-1-sample-container-c1","source":"stdout","log":"line 7","ecs_cluster":"FluentBit-cluster","ecs_container_name":"sample-container","ecs_task_arn":"arn:aws:ecs:us-east-1:012345678901:task/FluentBit-cluster/13f4d9e1a2b34c5d","ecs_task_definition_family":"windows-app-task","ecs_task_definition_version":"1"}"#
        XCTAssertTrue(events.contains { $0.message == expected }, "no event is exactly \(expected); got \(events.first?.message ?? "none")")
        XCTAssertEqual(Set(events.map(\.message)).count, 20, "every line arrives once")
        XCTAssertEqual(try shipper.child.terminate(), 0)
    }

    func testAckedRecordsOfTwoTasksLandInTheirOwnStreams() throws {
        let moto = try MotoServer()
        let shipper = try ShipperProcess(config: try ShipperProcess.tutorialConfig(), directory: directory, endpoint: moto.endpoint)
        let first = try sendDockerRecords(port: shipper.port, count: 30, ack: true, extra: ["--task", "aaaa1111"])
        let second = try sendDockerRecords(port: shipper.port, count: 30, ack: true, extra: ["--task", "bbbb2222", "--container", "worker"])
        XCTAssertEqual(first.count, 30, "every record was acked")
        XCTAssertEqual(second.count, 30, "every record was acked")

        var events: [CloudWatchEvent] = []
        try eventually("60 events in moto") {
            events = try moto.events()
            return events.count >= 60
        }
        let streams = Dictionary(grouping: events, by: \.stream).mapValues(\.count)
        XCTAssertEqual(streams, ["task-out.aaaa1111.sample-container": 30, "task-out.bbbb2222.worker": 30])
        XCTAssertEqual(try shipper.child.terminate(), 0)
    }

    func testRecordMatchingNoOutputIsCountedAndLoggedNotSilentlyDropped() throws {
        let moto = try MotoServer()
        // A task ARN the tutorial's rewrite_tag rule does not match keeps its ecs.* tag, which no output matches.
        let shipper = try ShipperProcess(config: try ShipperProcess.tutorialConfig(), directory: directory, endpoint: moto.endpoint)
        try sendDockerRecords(port: shipper.port, count: 3, ack: true, extra: ["--task", "NOT_LOWER_CASE"])
        try shipper.child.waitForLine(#"WARNING .*matches no output.*tag=ecs\.windows-app-task"#)
        XCTAssertEqual(try shipper.child.terminate(), 0)
    }

    func testAckedRecordsSurviveKillDashNineWhileCloudWatchIsDown() throws {
        // Nothing listens on this endpoint: every upload fails, so acked records can only be in the spool.
        let unreachable = "http://127.0.0.1:9"
        var shipper = try ShipperProcess(config: try ShipperProcess.tutorialConfig(), directory: directory, endpoint: unreachable)
        let acked = try sendDockerRecords(port: shipper.port, count: 50, ack: true)
        XCTAssertEqual(acked.count, 50)
        shipper.child.kill9()

        let moto = try MotoServer()
        shipper = try ShipperProcess(config: try ShipperProcess.tutorialConfig(), directory: directory, endpoint: moto.endpoint)
        var events: [CloudWatchEvent] = []
        try eventually("the 50 acked records in moto after the restart") {
            events = try moto.events()
            return events.count >= 50
        }
        let lines = Set(events.compactMap { event -> String? in
            (try? JSONSerialization.jsonObject(with: Data(event.message.utf8)) as? [String: Any])?["log"] as? String
        })
        XCTAssertEqual(lines, Set(acked.map { "line \($0)" }))
        XCTAssertEqual(events.count, 50, "each acked record arrives exactly once")
        XCTAssertEqual(try shipper.child.terminate(), 0)
    }
}
