import XCTest
import Ingest
import Records
import Spool
@testable import ShipperCore

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
        var out = SpoolRecords()
        let router = Router(outputs: [try output(extra)])
        var names = router.makeNames()
        _ = router.route(TaggedRecord(tag: tag, time: EventTime(seconds: 1_700_000_000, nanoseconds: 5), record: record), into: &out, names: &names)
        return Array(out)
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
        var out = SpoolRecords()
        let router = Router(outputs: [try output()])
        var names = router.makeNames()
        let matched = router.route(TaggedRecord(tag: "ecs.app", time: EventTime(seconds: 1), record: LogRecord()), into: &out, names: &names)
        XCTAssertFalse(matched)
        XCTAssertTrue(out.isEmpty)
    }

    func testNamesRememberedAcrossRecordsFollowEachRecordsValues() throws {
        let router = Router(outputs: [try output()])
        var names = router.makeNames()
        var out = SpoolRecords()
        // Runs, changes, a record missing a template field, and a return to an earlier value.
        let inputs: [(cluster: String?, tag: String)] = [("prod", "out.a"), ("prod", "out.a"), ("test", "out.a"), (nil, "out.b"), ("prod", "out.b"), ("prod", "out.a")]
        for input in inputs {
            let record = input.cluster.map { LogRecord(["ecs_cluster": .string($0), "ecs_task_definition_family": .string("web")]) }
                ?? LogRecord(["ecs_task_definition_family": .string("web")])
            XCTAssertTrue(router.route(TaggedRecord(tag: input.tag, time: EventTime(seconds: 1), record: record), into: &out, names: &names))
        }
        XCTAssertEqual(out.map(\.logGroup), ["/aws/ecs/prod.web", "/aws/ecs/prod.web", "/aws/ecs/test.web", "fallback-group", "/aws/ecs/prod.web", "/aws/ecs/prod.web"])
        XCTAssertEqual(out.map(\.logStream), ["task-out.a", "task-out.a", "task-out.a", "task-out.b", "task-out.b", "task-out.a"])

        let matched = ["out.a", "ecs.a", "ecs.a", "out.a", "out.b"].map {
            router.route(TaggedRecord(tag: $0, time: EventTime(seconds: 1), record: LogRecord()), into: &out, names: &names)
        }
        XCTAssertEqual(matched, [true, false, false, true, true])
    }

    func testARecordTwoOutputsMatchIsStoredForEachInItsOwnStream() throws {
        var parser = ClassicConfigParser(environment: [:])
        let sections = try parser.parse(text: """
            [INPUT]
                Name forward
            [OUTPUT]
                Name cloudwatch_logs
                Match out.*
                region us-east-1
                log_group_name g
                log_stream_prefix p-
            [OUTPUT]
                Name cloudwatch_logs
                Alias europe
                Match *.web
                region eu-west-1
                log_group_name g
                log_stream_prefix p-
            """, file: "two.conf")
        let router = Router(outputs: try ShipperConfiguration(sections: sections, environment: [:], notices: []).outputs)
        var names = router.makeNames()
        var out = SpoolRecords()
        for tag in ["out.a.web", "out.a.db", "in.b.web", "other"] {
            _ = router.route(TaggedRecord(tag: tag, time: EventTime(seconds: 1), record: LogRecord(["log": .string(tag)])), into: &out, names: &names)
        }
        XCTAssertEqual(Array(out).map { "\($0.output.name) \($0.logGroup)/\($0.logStream)" }, [
            "cloudwatch_logs.0 g/p-out.a.web", "europe g/p-out.a.web", "cloudwatch_logs.0 g/p-out.a.db", "europe g/p-in.b.web",
        ])
    }
}
