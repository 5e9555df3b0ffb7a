import XCTest
import Ingest
import Spool
@testable import Shipper

final class RouterTests: XCTestCase {
    private func output(_ extra: String = "") throws -> CloudWatchOutputSettings {
        let text = """
            [OUTPUT]
                Name                cloudwatch_logs
                Match               out.*
                region              us-east-1
                log_group_name      fallback-group
                log_group_template  /aws/ecs/$ecs_cluster.$ecs_task_definition_family
                log_stream_prefix   task-
            \(extra)
            """
        var parser = ClassicConfigParser(environment: [:])
        let sections = try parser.parse(text: "[INPUT]\n    Name forward\n" + text, file: "router.conf")
        return try XCTUnwrap(ShipperConfiguration(sections: sections, environment: [:], notices: []).outputs.first)
    }

    private func route(_ record: LogRecord, tag: String = "out.task1.web", extra: String = "") throws -> [SpoolRecord] {
        var out: [SpoolRecord] = []
        _ = Router(outputs: [try output(extra)]).route(TaggedRecord(tag: tag, time: EventTime(seconds: 1_700_000_000, nanoseconds: 5), record: record), into: &out)
        return out
    }

    func testTutorialGroupAndStream() throws {
        let routed = try route(LogRecord(["log": .string("x"), "ecs_cluster": .string("prod"), "ecs_task_definition_family": .string("web")]))
        XCTAssertEqual(routed.first?.logGroup, "/aws/ecs/prod.web")
        XCTAssertEqual(routed.first?.logStream, "task-out.task1.web")
        XCTAssertEqual(routed.first?.timeNanoseconds, 1_700_000_000_000_000_005)
        XCTAssertEqual(routed.first.map { String(decoding: $0.message, as: UTF8.self) }, #"{"log":"x","ecs_cluster":"prod","ecs_task_definition_family":"web"}"#)
    }

    func testMissingTemplateFieldFallsBackToLogGroupName() throws {
        XCTAssertEqual(try route(LogRecord(["log": .string("x"), "ecs_cluster": .string("prod")])).first?.logGroup, "fallback-group")
    }

    func testLogKeySendsOneFieldsValue() throws {
        let routed = try route(LogRecord(["log": .string("plain line"), "n": .int(1)]), extra: "    log_key log")
        XCTAssertEqual(routed.first?.message, Array("plain line".utf8))
    }

    func testUnmatchedTagIsReported() throws {
        var out: [SpoolRecord] = []
        let matched = Router(outputs: [try output()]).route(TaggedRecord(tag: "ecs.app", time: EventTime(seconds: 1), record: LogRecord()), into: &out)
        XCTAssertFalse(matched)
        XCTAssertTrue(out.isEmpty)
    }
}
