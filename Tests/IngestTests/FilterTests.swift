import XCTest
@testable import Ingest
import Records

final class FilterTests: XCTestCase {
    private func dockerRecord(taskARN: String = "arn:aws:ecs:us-east-1:012345678901:task/FluentBit-cluster/13f4d9e1a2b34c5d",
                              containerName: String = "sample-container") -> LogRecord {
        LogRecord([
            "container_id": .string("61f5e6"), "container_name": .string("/c"), "source": .string("stdout"), "log": .string("10"),
            "com.amazonaws.ecs.cluster": .string("FluentBit-cluster"),
            "com.amazonaws.ecs.container-name": .string(containerName),
            "com.amazonaws.ecs.task-arn": .string(taskARN),
            "com.amazonaws.ecs.task-definition-family": .string("windows-app-task"),
            "com.amazonaws.ecs.task-definition-version": .string("1"),
        ])
    }

    private var tutorialPipeline: FilterPipeline {
        get throws {
            let modify = ModifyFilter(match: TagPattern("ecs.*"), rules: [
                .rename(from: "com.amazonaws.ecs.cluster", to: "ecs_cluster"),
                .rename(from: "com.amazonaws.ecs.container-name", to: "ecs_container_name"),
                .rename(from: "com.amazonaws.ecs.task-arn", to: "ecs_task_arn"),
                .rename(from: "com.amazonaws.ecs.task-definition-family", to: "ecs_task_definition_family"),
                .rename(from: "com.amazonaws.ecs.task-definition-version", to: "ecs_task_definition_version"),
            ])
            let rule = try RewriteTagFilter.Rule(parsing: "$ecs_task_arn ^([a-z-:0-9]+)/([a-zA-Z0-9-_]+)/([a-z0-9]+)$  out.$3.$ecs_container_name false")
            return FilterPipeline(filters: [modify, RewriteTagFilter(match: TagPattern("ecs.*"), rules: [rule])])
        }
    }

    func testTagPatterns() {
        XCTAssertTrue(TagPattern("ecs.*").matches("ecs.windows-app-task"))
        XCTAssertFalse(TagPattern("ecs.*").matches("out.x"))
        XCTAssertTrue(TagPattern("*").matches("anything"))
        XCTAssertTrue(TagPattern("a.*.c").matches("a.b.c"))
        XCTAssertFalse(TagPattern("a.*.c").matches("a.b.d"))
        XCTAssertTrue(TagPattern("exact").matches("exact"))
        XCTAssertFalse(TagPattern("exact").matches("exactly"))
        XCTAssertTrue(TagPattern("*").matches(""))
        XCTAssertFalse(TagPattern("a*a").matches("a"), "prefix and suffix may not overlap")
        XCTAssertTrue(TagPattern("a*a").matches("aa"))
        XCTAssertTrue(TagPattern("*.é.*").matches("x.é.y"))
        XCTAssertTrue(TagPattern("a*b*c").matches("a-b-b-c"))
        XCTAssertFalse(TagPattern("a*b*c").matches("a-c-b"))
    }

    func testTutorialFiltersRenameKeysInPlaceAndRewriteTheTag() throws {
        var output: [TaggedRecord] = []
        try tutorialPipeline.process(TaggedRecord(tag: "ecs.windows-app-task", time: EventTime(seconds: 1), record: dockerRecord()), into: &output)
        XCTAssertEqual(output.count, 1, "keep=false drops the original")
        XCTAssertEqual(output[0].tag, "out.13f4d9e1a2b34c5d.sample-container")
        let keys = output[0].record.fields.compactMap { $0.key.textValue }
        XCTAssertEqual(keys, ["container_id", "container_name", "source", "log", "ecs_cluster", "ecs_container_name",
                              "ecs_task_arn", "ecs_task_definition_family", "ecs_task_definition_version"])
    }

    func testRecordTheRuleDoesNotMatchKeepsItsTag() throws {
        var output: [TaggedRecord] = []
        try tutorialPipeline.process(TaggedRecord(tag: "ecs.app", time: EventTime(seconds: 1), record: dockerRecord(taskARN: "UPPER/CASE/ARN")), into: &output)
        XCTAssertEqual(output.map(\.tag), ["ecs.app"])
    }

    func testKeepTrueEmitsBothAndReemittedRecordsRunLaterFilters() throws {
        let rule = try RewriteTagFilter.Rule(parsing: "$level ^(error)$ alerts.$1 true")
        let tagger = ModifyFilter(match: TagPattern("alerts.*"), rules: [.add(key: "alert", value: "yes")])
        let pipeline = FilterPipeline(filters: [RewriteTagFilter(match: TagPattern("*"), rules: [rule]), tagger])
        var output: [TaggedRecord] = []
        pipeline.process(TaggedRecord(tag: "app", time: EventTime(seconds: 1), record: LogRecord(["level": .string("error")])), into: &output)
        XCTAssertEqual(output.map(\.tag), ["alerts.error", "app"])
        XCTAssertEqual(output[0].record["alert"], .string("yes"))
        XCTAssertNil(output[1].record["alert"])
    }

    func testModifyRules() {
        var record = LogRecord(["a": .string("1"), "b": .string("2"), "c": .string("3")])
        let filter = ModifyFilter(match: TagPattern("*"), rules: [
            .rename(from: "a", to: "b"),
            .hardRename(from: "c", to: "b"),
            .copy(from: "b", to: "d"),
            .add(key: "d", value: "ignored"),
            .set(key: "e", value: "5"),
            .remove(key: "a"),
            .hardCopy(from: "e", to: "d"),
        ])
        _ = filter.apply(tag: "t", record: &record)
        XCTAssertEqual(record, LogRecord(["b": .string("3"), "d": .string("5"), "e": .string("5")]))
    }

    func testRuleParsingErrors() {
        XCTAssertThrowsError(try RewriteTagFilter.Rule(parsing: "$a ^x$ out")) { error in
            XCTAssertTrue("\(error)".contains("expected 4 space-separated parts"), "\(error)")
        }
        XCTAssertThrowsError(try RewriteTagFilter.Rule(parsing: "$a ([ out false")) { error in
            XCTAssertTrue("\(error)".contains("does not compile"), "\(error)")
        }
        XCTAssertThrowsError(try RewriteTagFilter.Rule(parsing: "$a ^x$ out maybe")) { error in
            XCTAssertTrue("\(error)".contains("KEEP must be true or false"), "\(error)")
        }
    }

    private func render(_ template: String, _ record: LogRecord) throws -> String? {
        var memo = TemplateMemo()
        return try RecordTemplate(parsing: template, allowCaptures: false).render(record, memo: &memo)
    }

    func testTemplatesWithNestedAccessorsAndMissingFields() throws {
        let record = LogRecord(["k8s": .map([MessagePackPair(key: .string("ns"), value: .string("prod"))]), "cluster": .string("c1")])
        XCTAssertEqual(try render("/aws/$cluster.$k8s['ns']", record), "/aws/c1.prod")
        XCTAssertNil(try render("/aws/$missing", record))
        XCTAssertEqual(try render("price $5", record), "price $5")
        let numbers = LogRecord(["n": .int(-5), "ok": .bool(true), "nested": .map([])])
        XCTAssertEqual(try render("$n/$ok", numbers), "-5/true")
        XCTAssertNil(try render("x$nested", numbers), "a map has no text")
    }

    func testOneMatchMemoAcrossRecordsGivesEachTagItsOwnAnswer() {
        let pipeline = FilterPipeline(filters: [
            ModifyFilter(match: TagPattern("a.*"), rules: [.add(key: "a", value: "1")]),
            ModifyFilter(match: TagPattern("*.x"), rules: [.add(key: "x", value: "1")]),
        ])
        var memo = pipeline.makeMemo()
        var output: [TaggedRecord] = []
        // Two tags in turn (as the filters before a rewrite_tag see them), then a third.
        let tags = ["a.x", "a.x", "b.x", "a.y", "b.y", "a.x", "b.y", "a.x", "b.x"]
        for tag in tags {
            pipeline.process(TaggedRecord(tag: tag, time: EventTime(seconds: 1), record: LogRecord(["log": .string("l")])), into: &output, memo: &memo)
        }
        XCTAssertEqual(output.map { $0.record.fields.compactMap { $0.key.textValue } },
                       [["log", "a", "x"], ["log", "a", "x"], ["log", "x"], ["log", "a"], ["log"], ["log", "a", "x"], ["log"], ["log", "a", "x"], ["log", "x"]])
    }

    func testTemplateMemoAnswersForEachRecordsOwnValues() throws {
        let template = try RecordTemplate(parsing: "/aws/$cluster.$1", allowCaptures: true)
        var memo = TemplateMemo()
        let c1 = LogRecord(["cluster": .string("c1")])
        let c2 = LogRecord(["cluster": .string("c2")])
        XCTAssertEqual(template.render(c1, captures: ["", "a"], memo: &memo), "/aws/c1.a")
        XCTAssertEqual(template.render(c1, captures: ["", "a"], memo: &memo), "/aws/c1.a")
        XCTAssertEqual(template.render(c1, captures: ["", "b"], memo: &memo), "/aws/c1.b")
        XCTAssertNil(template.render(LogRecord(["other": .string("c1")]), captures: ["", "b"], memo: &memo))
        XCTAssertEqual(template.render(c2, captures: ["", "b"], memo: &memo), "/aws/c2.b")
        XCTAssertEqual(template.render(c1, captures: ["", "b"], memo: &memo), "/aws/c1.b")
    }

    func testRewriteTagGivesEachRecordItsOwnTagAcrossARun() throws {
        // One connection's memo across its records, as a connection runs them.
        let pipeline = try tutorialPipeline
        var memo = pipeline.makeMemo()
        var output: [TaggedRecord] = []
        let long = String(repeating: "z", count: MatchCache.maxKeyBytes + 1)
        let inputs = [("a1", "web"), ("a1", "web"), ("a1", "db"), ("b2", "db"), ("UPPER", "db"), ("UPPER", "db"), ("a1", "web"), (long, "web"), (long, "db"), ("a1", "web")]
        for (arn, container) in inputs {
            let record = dockerRecord(taskARN: "arn:aws:ecs:us-east-1:012345678901:task/c/\(arn)", containerName: container)
            pipeline.process(TaggedRecord(tag: "ecs.app", time: EventTime(seconds: 1), record: record), into: &output, memo: &memo)
        }
        XCTAssertEqual(output.map(\.tag), ["out.a1.web", "out.a1.web", "out.a1.db", "out.b2.db", "ecs.app", "ecs.app", "out.a1.web",
                                            "out.\(long).web", "out.\(long).db", "out.a1.web"])
    }

    func testModifyConditionsGateTheRules() throws {
        let filter = ModifyFilter(match: TagPattern("*"), rules: [.add(key: "alert", value: "yes")], conditions: [
            try ModifyFilter.Condition(parsing: "Key_value_equals source stderr"),
            try ModifyFilter.Condition(parsing: "Key_exists log"),
            try ModifyFilter.Condition(parsing: "No_key_matches ^secret"),
        ])
        var stderr = LogRecord(["source": .string("stderr"), "log": .string("boom")])
        _ = filter.apply(tag: "t", record: &stderr)
        XCTAssertEqual(stderr["alert"], .string("yes"))
        var stdout = LogRecord(["source": .string("stdout"), "log": .string("fine")])
        _ = filter.apply(tag: "t", record: &stdout)
        XCTAssertNil(stdout["alert"])
        var secret = LogRecord(["source": .string("stderr"), "log": .string("x"), "secret_key": .string("k")])
        _ = filter.apply(tag: "t", record: &secret)
        XCTAssertNil(secret["alert"])
        XCTAssertThrowsError(try ModifyFilter.Condition(parsing: "Key_is_fancy a"))
        XCTAssertThrowsError(try ModifyFilter.Condition(parsing: "Key_value_matches log ([")) { error in
            XCTAssertTrue("\(error)".contains("does not compile"), "\(error)")
        }
    }

    func testTheRegexMemoKeepsOnlyValuesOfBoundedSize() {
        let cache = MatchCache()
        let arn = Array("arn:aws:ecs:us-east-1:012345678901:task/c/0a1b".utf8)[...]
        cache.store(arn, ["whole"])
        XCTAssertEqual(cache.lookup(arn), .some(["whole"]))
        let huge = [UInt8](repeating: 0x61, count: MatchCache.maxKeyBytes + 1)[...]
        cache.store(huge, nil)
        XCTAssertNil(cache.lookup(huge), "a value past the bound is matched again each time, not kept")
        XCTAssertEqual(cache.lookup(arn), .some(["whole"]))
    }
}
