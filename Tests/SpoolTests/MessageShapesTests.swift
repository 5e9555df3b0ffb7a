import Foundation
import XCTest
@testable import Spool

final class MessageShapesTests: SpoolFileTestCase {
    /// A Docker record as the router renders it: labels around a `log` line.
    private func docker(_ n: Int, source: String = "stdout", container: String = "web") -> [UInt8] {
        let letters = Array("abcdefghij")
        let length = 20 + n % 50
        let log = String((0..<length).map { (i: Int) -> Character in letters[(n + i) % 10] })
        return Array(#"{"container_id":"61f5e6b0c3d54c2f9e8a7b6c5d4e3f2a1b0c9d8e7f6a5b4c3d2e1f0a9b8c7d6e","container_name":"/\#(container)","source":"\#(source)","log":"\#(n) \#(log)","ecs_cluster":"FluentBit-cluster","ecs_task_arn":"arn:aws:ecs:us-east-1:012345678901:task/FluentBit-cluster/13f4d9e1a2b34c5d"}"#.utf8)
    }

    private func store(_ spool: Spool, _ messages: [[UInt8]], stream: String = "s") throws {
        let records = messages.enumerated().map { SpoolRecord(output: .first, logGroup: "g", logStream: stream, tag: "t", timeNanoseconds: Int64($0.offset), message: $0.element) }
        try spool.append([SpoolAppend(chunk: nil, records: SpoolRecords(records))], durable: true)
    }

    private func readAll(_ spool: Spool) throws -> [String: [[UInt8]]] {
        var result: [String: [[UInt8]]] = [:]
        for stream in try spool.streamsWithPendingRecords() {
            result[stream.logStream] = try spool.undelivered(stream: stream.id, limit: 100_000).map(\.message)
        }
        return result
    }

    private func integer(_ sql: String) throws -> Int64 {
        let database = try SQLiteDatabase(path: path, create: false)
        defer { database.close() }
        return try database.integer(sql)
    }

    func testEveryReaderGetsEachMessageBackWhole() throws {
        // Runs of one shape, stdout and stderr in turn, lines with nothing in common, empty, short and binary messages.
        var messages = (0..<300).map { docker($0) }
        messages += (300..<400).map { docker($0, source: $0 % 2 == 0 ? "stdout" : "stderr") }
        messages += (0..<50).map { n in (0..<(n * 7 % 300)).map { _ in UInt8.random(in: 0...255) } }
        messages += [[], [0x22], Array(docker(1).prefix(10)), [0, 0x22, 0, 0xff] + docker(5) + [0, 0xfe]]
        messages += (400..<450).map { docker($0, container: "db") }
        let spool = try Spool(configuration: .init(path: path))
        try store(spool, messages)
        try store(spool, (0..<100).map { docker($0, container: "other") }, stream: "s2")

        XCTAssertEqual(try readAll(spool)["s"], messages, "the uploader's read")
        XCTAssertEqual(try readAll(spool)["s2"], (0..<100).map { docker($0, container: "other") })
        let inspector = try SpoolInspector(path: path)
        let selected = try inspector.select(RecordSelection(stream: "s"), limit: 100_000)
        XCTAssertEqual(selected.map(\.message), messages, "export, cat and replay")
        let pendingBytes = try XCTUnwrap(try inspector.streamStatus().first { $0.logStream == "s" }).undeliveredBytes
        XCTAssertEqual(pendingBytes, messages.reduce(0) { $0 + $1.count }, "status counts whole messages")

        let stream = try XCTUnwrap(try spool.streamsWithPendingRecords().first { $0.logStream == "s" })
        let stored = try spool.undelivered(stream: stream.id, limit: 100_000)
        try spool.markDelivered(stream: stream.id, through: stored[9].id, deadLetters: (0..<10).map { DeadLetter(recordID: stored[$0].id, reason: "test") })
        let letters = try inspector.select(RecordSelection(source: .deadLetters), limit: 100)
        XCTAssertEqual(letters.map(\.message), Array(messages[0..<10]), "dead letters keep whole messages")
        spool.close()

        // Shapes were made, few of them, and they saved most of the bytes.
        XCTAssertGreaterThan(try integer("SELECT count(*) FROM records WHERE shape IS NOT NULL"), 400)
        XCTAssertLessThanOrEqual(try integer("SELECT count(*) FROM shapes"), 30)
        let storedBytes = try integer("SELECT sum(length(message)) FROM records")
        XCTAssertLessThan(storedBytes * 2, Int64((messages + (0..<100).map { docker($0, container: "other") }).reduce(0) { $0 + $1.count }))
    }

    func testShapesKeepAtMostAKiBOfEachEndHoweverLongTheLines() throws {
        let spool = try Spool(configuration: .init(path: path))
        defer { spool.close() }
        let long = Array(#"{"log":""#.utf8) + [UInt8](repeating: 0x61, count: 3_000) + Array(#"","x":""#.utf8) + [UInt8](repeating: 0x62, count: 3_000) + Array(#""}"#.utf8)
        let huge = [UInt8](repeating: 0x22, count: 100_000)
        let messages = Array(repeating: long, count: 40) + Array(repeating: huge, count: 40)
        try store(spool, messages)
        XCTAssertEqual(try readAll(spool)["s"], messages)
        XCTAssertLessThanOrEqual(try integer("SELECT max(max(length(prefix)), max(length(suffix))) FROM shapes"), Int64(MessageShapes.maximumEnd))
        XCTAssertGreaterThan(try integer("SELECT count(*) FROM records WHERE shape IS NOT NULL"), 30, "the 6 KB lines still share their ends")
    }

    func testStreamsBeyondWhatTheWriterRemembersCloseTheirShapesAndReadWhole() throws {
        let spool = try Spool(configuration: .init(path: path))
        defer { spool.close() }
        let streams = MessageShapes.streamsRemembered + 44
        var expected: [String: [[UInt8]]] = [:]
        var records: [SpoolRecord] = []
        for round in 0..<2 {
            for stream in 0..<streams {
                for n in 0..<4 {
                    let message = docker(round * 4 + n, container: "c\(stream)")
                    expected["s\(stream)", default: []].append(message)
                    records.append(SpoolRecord(output: .first, logGroup: "g", logStream: "s\(stream)", tag: "t", timeNanoseconds: Int64(n), message: message))
                }
            }
        }
        try spool.append([SpoolAppend(chunk: nil, records: SpoolRecords(records))], durable: true)
        XCTAssertEqual(try readAll(spool), expected)
        XCTAssertLessThanOrEqual(try integer("SELECT count(*) FROM shapes WHERE last_id IS NULL"), Int64(MessageShapes.streamsRemembered * MessageShapes.shapesPerStream))
        XCTAssertGreaterThan(try integer("SELECT count(*) FROM shapes WHERE last_id IS NOT NULL"), 0, "the shapes of streams let go are closed")
    }

    /// A stream keeps the shapes it uses most recently: a shape used again moves to the
    /// front, so the one a new shape pushes out is the one unused longest.
    func testTheShapeUnusedLongestIsTheOneLetGo() throws {
        let spool = try Spool(configuration: .init(path: path))
        defer { spool.close() }
        let run = 20
        // Runs of containers a, b, c, d make four shapes; a's comes back into use, then e's pushes one out.
        let containers = ["a", "b", "c", "d", "a", "e", "a"]
        for (index, container) in containers.enumerated() {
            try store(spool, (0..<run).map { docker(index * run + $0, container: container) })
        }
        func shape(ofRecord id: Int) throws -> Int64 { try integer("SELECT shape FROM records WHERE id = \(id)") }
        XCTAssertEqual(try integer("SELECT count(*) FROM shapes"), 5, "one shape for each container")
        XCTAssertEqual(try shape(ofRecord: containers.count * run), try shape(ofRecord: run), "a's records still use its first shape")
        XCTAssertEqual(try integer("SELECT id FROM shapes WHERE last_id IS NOT NULL"), try shape(ofRecord: 2 * run), "b's shape, unused longest, is the one closed")
    }

    private func execute(_ sql: String) throws {
        let database = try SQLiteDatabase(path: path, create: false)
        defer { database.close() }
        try database.execute(sql)
    }

    /// Invariant: a shape is deleted only when no record refers to it. A shape closed
    /// too early (as a second instance's start-up once did) must not take later records' ends.
    func testAClosedShapeStaysWhileAnyRecordStillUsesIt() throws {
        let spool = try Spool(configuration: .init(path: path, keepDelivered: 0))
        defer { spool.close() }
        try store(spool, (0..<100).map { docker($0) })
        try execute("UPDATE shapes SET last_id = (SELECT max(id) FROM records)")
        try store(spool, (100..<200).map { docker($0) })
        let stream = try XCTUnwrap(try spool.streamsWithPendingRecords().first)
        let first = try spool.undelivered(stream: stream.id, limit: 100)
        try spool.markDelivered(stream: stream.id, through: try XCTUnwrap(first.last).id)
        Thread.sleep(forTimeInterval: 1.1)
        spool.runMaintenance()
        XCTAssertEqual(try spool.recordCount(), 100, "the delivered half is gone")
        let rest = try spool.undelivered(stream: stream.id, limit: 1000)
        XCTAssertEqual(rest.map(\.message), (100..<200).map { docker($0) }, "the newer records keep their whole messages")
        XCTAssertEqual(rest.compactMap(\.missingShape), [])
    }

    /// How many shapes' counts in `shape_uses` differ from the records that use them (0 when exact).
    private func inexactShapeUses(_ database: SQLiteDatabase? = nil) throws -> Int64 {
        let sql = """
            SELECT count(*) FROM (SELECT s.id, coalesce(u.records, -1) AS counted, (SELECT count(*) FROM records r WHERE r.shape = s.id) AS used
                                  FROM shapes s LEFT JOIN shape_uses u ON u.shape = s.id) WHERE counted != used
            """
        if let database { return try database.integer(sql) }
        return try integer(sql)
    }

    /// Invariant: a writer never stores a record with a shape deleted under it. Here
    /// the writer's open shapes are closed behind its back (as a second instance's
    /// start-up once did), and the records of one are delivered and evicted, so
    /// housekeeping deletes that one while the writer still holds it.
    func testAShapeDeletedUnderTheWriterIsNotUsedAgain() throws {
        let spool = try Spool(configuration: .init(path: path, keepDelivered: 0))
        defer { spool.close() }
        try store(spool, (0..<100).map { docker($0, container: "a") })
        try store(spool, (0..<100).map { docker($0, container: "b") })
        XCTAssertEqual(try integer("SELECT count(*) FROM shapes"), 2)
        try execute("UPDATE shapes SET last_id = (SELECT max(id) FROM records)")
        let stream = try XCTUnwrap(try spool.streamsWithPendingRecords().first)
        try spool.markDelivered(stream: stream.id, through: try spool.undelivered(stream: stream.id, limit: 100)[99].id)
        Thread.sleep(forTimeInterval: 1.1)
        spool.runMaintenance()
        XCTAssertEqual(try spool.recordCount(), 100, "a's records are gone, b's stay")
        XCTAssertEqual(try integer("SELECT count(*) FROM shapes"), 1, "a's shape, unused and closed, is deleted")

        try store(spool, (100..<200).map { docker($0, container: "a") })
        let rest = try spool.undelivered(stream: stream.id, limit: 1000)
        XCTAssertEqual(rest.compactMap(\.missingShape), [], "no record refers to the deleted shape")
        XCTAssertTrue(rest.map(\.message) == (0..<100).map { docker($0, container: "b") } + (100..<200).map { docker($0, container: "a") },
                      "every message whole")
        XCTAssertEqual(try inexactShapeUses(), 0)
    }

    /// Every way records come and go moves their shapes' counts: stored, rolled back, evicted.
    func testShapeUsesCountTheRecordsOfEachShapeThroughStoresAndEvictions() throws {
        let spool = try Spool(configuration: .init(path: path, keepDelivered: 0))
        defer { spool.close() }
        for (index, container) in ["a", "b", "a", "c", "d", "e", "a"].enumerated() {
            try store(spool, (0..<30).map { docker(index * 30 + $0, container: container) }, stream: index % 2 == 0 ? "even" : "odd")
        }
        XCTAssertGreaterThan(try integer("SELECT count(*) FROM shapes"), 3)
        XCTAssertGreaterThan(try integer("SELECT sum(records) FROM shape_uses"), 100)
        XCTAssertEqual(try inexactShapeUses(), 0, "stored")
        let stream = try XCTUnwrap(try spool.streamsWithPendingRecords().first { $0.logStream == "even" })
        let records = try spool.undelivered(stream: stream.id, limit: 1000)
        try spool.markDelivered(stream: stream.id, through: records[records.count / 2].id)
        Thread.sleep(forTimeInterval: 1.1)
        spool.runMaintenance()
        XCTAssertLessThan(try spool.recordCount(), 210, "part of one stream evicted")
        XCTAssertEqual(try inexactShapeUses(), 0, "evicted")
    }

    /// A record whose shape is gone (spool damage) is reported as such, and its
    /// dead letter keeps what is left of it instead of failing on a NULL message.
    func testARecordWhoseShapeIsMissingIsReportedAndDeadLettered() throws {
        let spool = try Spool(configuration: .init(path: path))
        defer { spool.close() }
        try store(spool, (0..<100).map { docker($0) })
        let shaped = try integer("SELECT count(*) FROM records WHERE shape IS NOT NULL")
        XCTAssertGreaterThan(shaped, 50)
        try execute("DELETE FROM shapes")
        let stream = try XCTUnwrap(try spool.streamsWithPendingRecords().first)
        let records = try spool.undelivered(stream: stream.id, limit: 1000)
        let damaged = records.filter { $0.missingShape != nil }
        XCTAssertEqual(Int64(damaged.count), shaped)
        XCTAssertTrue(damaged.allSatisfy { !$0.message.isEmpty }, "the stored middle is kept")
        XCTAssertEqual(records.count, 100)
        for (n, record) in records.enumerated() where record.missingShape == nil {
            XCTAssertEqual(record.message, docker(n), "a record stored whole is untouched")
        }
        try spool.markDelivered(stream: stream.id, through: try XCTUnwrap(records.last).id,
                                deadLetters: damaged.map { DeadLetter(recordID: $0.id, reason: "spool damage") })
        XCTAssertEqual(try spool.deadLetterCount(), damaged.count)
    }

    func testARestartClosesTheShapesAndMaintenanceDeletesThemOnceUnused() throws {
        var spool = try Spool(configuration: .init(path: path, keepDelivered: 0))
        try store(spool, (0..<100).map { docker($0) })
        XCTAssertEqual(try integer("SELECT count(*) FROM shapes WHERE last_id IS NULL"), 1, "one shape, open while the writer uses it")
        spool.runMaintenance()
        XCTAssertEqual(try integer("SELECT count(*) FROM shapes"), 1, "an open shape stays")
        spool.close()

        spool = try Spool(configuration: .init(path: path, keepDelivered: 0))
        defer { spool.close() }
        XCTAssertEqual(try integer("SELECT count(*) FROM shapes WHERE last_id IS NULL"), 0, "closed at start")
        try store(spool, (100..<200).map { docker($0) })
        XCTAssertEqual(try readAll(spool)["s"], (0..<200).map { docker($0) })
        spool.runMaintenance()
        XCTAssertEqual(try integer("SELECT count(*) FROM shapes"), 2, "a closed shape stays while its records do")

        // Delivered and past the replay window: the records go, then the closed shape.
        let stream = try XCTUnwrap(try spool.streamsWithPendingRecords().first)
        try spool.markDelivered(stream: stream.id, through: try XCTUnwrap(try spool.undelivered(stream: stream.id, limit: 1000).last).id)
        Thread.sleep(forTimeInterval: 1.1)
        spool.runMaintenance()
        XCTAssertEqual(try spool.recordCount(), 0)
        XCTAssertEqual(try integer("SELECT count(*) FROM shapes"), 1, "the closed shape is gone, the open one stays")
        try store(spool, (200..<210).map { docker($0) })
        XCTAssertEqual(try readAll(spool)["s"], (200..<210).map { docker($0) }, "the open shape still serves")
    }

    func testShapesOfARolledBackTransactionStayOpenWhenTheirIdsAreGivenAgain() throws {
        // The writer's parts on their own, so that a transaction can be made to fail.
        let database = try SQLiteDatabase(path: path)
        defer { database.close() }
        for statement in SpoolSchema.statements { try database.execute(statement) }
        let shapes = try MessageShapes(database: database)
        let inserter = try RecordInserter(database: database)
        let counters = try StreamCounters(database: database)
        func insert(_ messages: [[UInt8]], stream: Int64) throws {
            let records = messages.enumerated().map { SpoolRecord(output: .first, logGroup: "g", logStream: "s\(stream)", tag: "t", timeNanoseconds: Int64($0.offset), message: $0.element) }
            try inserter.add(SpoolRecords(records), chunk: nil, shapes: shapes, counters: counters) { _ in stream }
        }
        func family(_ k: Int) -> [[UInt8]] { (0..<20).map { docker($0, container: "c\(k)") } }
        struct Abort: Error {}

        try database.transaction {
            try insert(family(0), stream: 1)
            try inserter.flush()
            try shapes.flush()
        }
        shapes.committed()
        // Five kinds of record on stream 2: the fifth shape lets the first go, in the same transaction, which then fails.
        XCTAssertThrowsError(try database.transaction {
            for k in 0..<5 { try insert(family(k), stream: 2) }
            try inserter.flush()
            try shapes.flush()
            throw Abort()
        })
        inserter.discardPending()
        shapes.rolledBack()
        // Again, two kinds: their new shapes get the ids the failed transaction had given (and closed).
        try database.transaction {
            for k in 0..<2 { try insert(family(k), stream: 2) }
            try inserter.flush()
            try shapes.flush()
        }
        shapes.committed()

        XCTAssertEqual(try database.integer("SELECT count(*) FROM shapes WHERE stream_id = 2 AND last_id IS NULL"), 2, "the shapes in use are open")
        XCTAssertEqual(try database.integer("SELECT count(*) FROM shapes WHERE stream_id = 1 AND last_id IS NOT NULL"), 1,
                       "the committed shape the failure made the writer forget is closed")
        XCTAssertEqual(try database.integer("SELECT count(*) FROM shapes"), 3)
        let read = try database.prepare("SELECT \(SpoolSchema.message(of: "r")) FROM records r ORDER BY r.id")
        var messages: [[UInt8]] = []
        while try read.step() { messages.append(read.blob(0)) }
        XCTAssertEqual(messages, family(0) + family(0) + family(1))
        XCTAssertEqual(try inexactShapeUses(database), 0, "the failed transaction's uses are not counted")
    }

    /// A format 4 spool indexed its records by shape: the upgrade counts each shape's
    /// records once, drops the index, and housekeeping then deletes exactly the unused.
    func testAFormat4SpoolCountsItsShapesUsesAndDropsTheIndex() throws {
        var spool = try Spool(configuration: .init(path: path, keepDelivered: 0))
        try store(spool, (0..<40).map { docker($0, container: "a") } + (0..<40).map { docker($0, container: "b") })
        spool.close()
        try execute("DROP TABLE shape_uses")
        try execute("CREATE INDEX records_by_shape ON records(shape) WHERE shape IS NOT NULL")
        try execute("PRAGMA user_version = 4")

        spool = try Spool(configuration: .init(path: path, keepDelivered: 0))
        defer { spool.close() }
        XCTAssertEqual(try integer("PRAGMA user_version"), SpoolSchema.version)
        XCTAssertEqual(try integer("SELECT count(*) FROM sqlite_master WHERE name = 'records_by_shape'"), 0)
        XCTAssertEqual(try integer("SELECT count(*) FROM shape_uses"), 2)
        XCTAssertEqual(try inexactShapeUses(), 0)
        let stream = try XCTUnwrap(try spool.streamsWithPendingRecords().first)
        let records = try spool.undelivered(stream: stream.id, limit: 1000)
        try spool.markDelivered(stream: stream.id, through: records[39].id)
        Thread.sleep(forTimeInterval: 1.1)
        spool.runMaintenance()
        XCTAssertEqual(try integer("SELECT count(*) FROM shapes"), 1, "a's shape, closed at the restart and unused, is gone; b's stays")
        XCTAssertEqual(try spool.undelivered(stream: stream.id, limit: 1000).map(\.message), (0..<40).map { docker($0, container: "b") })
    }

    func testAVersion1SpoolIsUpgradedAndItsRecordsReadAsBefore() throws {
        // A spool written by the previous release: records table without the shape column.
        let old = try SQLiteDatabase(path: path)
        try old.execute("PRAGMA journal_mode = WAL")
        try old.execute("""
            CREATE TABLE streams(id INTEGER PRIMARY KEY AUTOINCREMENT, log_group TEXT NOT NULL, log_stream TEXT NOT NULL,
                delivered_through INTEGER NOT NULL DEFAULT 0, UNIQUE(log_group, log_stream))
            """)
        try old.execute("CREATE TABLE records(id INTEGER PRIMARY KEY AUTOINCREMENT, stream_id INTEGER NOT NULL, time_ns INTEGER NOT NULL, tag TEXT NOT NULL, message BLOB NOT NULL, chunk BLOB)")
        try old.execute("INSERT INTO streams(log_group, log_stream) VALUES('g', 's')")
        try old.execute("INSERT INTO records(stream_id, time_ns, tag, message) VALUES(1, 1, 't', CAST('old record' AS BLOB))")
        try old.execute("PRAGMA user_version = 1")
        old.close()

        let spool = try Spool(configuration: .init(path: path))
        defer { spool.close() }
        try store(spool, (0..<50).map { docker($0) })
        XCTAssertEqual(try readAll(spool)["s"], [Array("old record".utf8)] + (0..<50).map { docker($0) })
        XCTAssertEqual(try integer("PRAGMA user_version"), SpoolSchema.version)
    }

    func testAFileOfANewerVersionIsRefused() throws {
        let newer = try SQLiteDatabase(path: path)
        try newer.execute("PRAGMA user_version = \(SpoolSchema.version + 1)")
        newer.close()
        XCTAssertThrowsError(try Spool(configuration: .init(path: path))) { error in
            XCTAssertTrue("\(error)".contains("schema version \(SpoolSchema.version + 1)"), "\(error)")
        }
    }
}
