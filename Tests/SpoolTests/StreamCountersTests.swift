import Foundation
import XCTest
@testable import Spool

/// The streams' counters must say what counting the rows says, after every
/// kind of change and after a crash, and pruning must never cost a live
/// stream its records or its cursor.
final class StreamCountersTests: SpoolFileTestCase {
    /// Messages that share their ends, so that the spool stores most of them as shapes.
    private func record(_ n: Int, stream: String, group: String = "g") -> SpoolRecord {
        let message = #"{"container_id":"61f5e6b0c3d54c2f9e8a7b6c5d4e3f2a","source":"stdout","log":"line \#(n) \#(String(repeating: "x", count: n % 7))","ecs_cluster":"FluentBit-cluster"}"#
        return SpoolRecord(output: .first, logGroup: group, logStream: stream, tag: "t", timeNanoseconds: Int64(1_000 + n), message: Array(message.utf8))
    }

    private func store(_ spool: Spool, _ records: [SpoolRecord]) throws {
        try spool.append([SpoolAppend(chunk: nil, records: SpoolRecords(records))], durable: true)
    }

    private func stream(_ spool: Spool, _ name: String) throws -> SpoolStream {
        try XCTUnwrap(try spool.streamsWithPendingRecords().first { $0.logStream == name }, "\(name) has records pending")
    }

    func testCountersMatchTheRowsThroughInsertDeliveryDeadLettersAndEviction() throws {
        let spool = try Spool(configuration: .init(path: path, keepDelivered: 0))
        defer { spool.close() }
        try store(spool, (0..<300).map { record($0, stream: $0 % 3 == 0 ? "a" : "b") })
        try store(spool, (300..<340).map { record($0, stream: "c", group: "h") })
        try assertCountersExact(path, "after inserts")
        XCTAssertGreaterThan(try SQLiteDatabase(path: path, create: false).integer("SELECT count(*) FROM records WHERE shape IS NOT NULL"), 0,
                             "shapes in play, so the bytes are counted whole")

        let a = try stream(spool, "a")
        let pending = try spool.undelivered(stream: a.id, limit: 50)
        try spool.markDelivered(stream: a.id, through: pending[49].id,
                                deadLetters: [DeadLetter(recordID: pending[3].id, reason: "tooOld"), DeadLetter(recordID: pending[7].id, reason: "tooOld")])
        try assertCountersExact(path, "after a delivery with dead letters")
        try spool.markDelivered(stream: a.id, through: pending[20].id)
        try assertCountersExact(path, "a cursor asked to go back stays, and so do the counters")

        let c = try stream(spool, "c")
        try spool.markDelivered(stream: c.id, through: try XCTUnwrap(try spool.undelivered(stream: c.id, limit: 1_000).last).id)
        spool.runMaintenance()
        XCTAssertEqual(try spool.recordCount(), 300 - 50, "the delivered records are evicted")
        try assertCountersExact(path, "after eviction")
    }

    func testCountersOfACrashedSpoolAreExactWhenItIsOpenedAgain() throws {
        let spool = try Spool(configuration: .init(path: path, keepDelivered: 0))
        try store(spool, (0..<200).map { record($0, stream: $0 % 2 == 0 ? "a" : "b") })
        let a = try stream(spool, "a")
        let pending = try spool.undelivered(stream: a.id, limit: 30)
        try spool.markDelivered(stream: a.id, through: pending[29].id, deadLetters: [DeadLetter(recordID: pending[0].id, reason: "tooNew")])
        spool.runMaintenance()
        try store(spool, (200..<260).map { record($0, stream: "b") })
        let bIDs = try spool.undelivered(stream: try stream(spool, "b").id, limit: 1_000).map(\.id)
        // What a power cut leaves of a WAL spool: the file and its log as they are on disk, the process gone without closing.
        let crashed = directory.appendingPathComponent("crashed")
        try FileManager.default.createDirectory(at: crashed, withIntermediateDirectories: true)
        let image = crashed.appendingPathComponent("spool.sqlite").path
        for suffix in ["", "-wal"] { try FileManager.default.copyItem(atPath: path + suffix, toPath: image + suffix) }
        spool.close()

        let reopened = try Spool(configuration: .init(path: image, keepDelivered: 0))
        defer { reopened.close() }
        try assertCountersExact(image, "after reopening the crash image")
        let b = try stream(reopened, "b")
        try reopened.markDelivered(stream: b.id, through: try reopened.undelivered(stream: b.id, limit: 10)[4].id)
        try assertCountersExact(image, "a cursor moved through part of what was read")
        try reopened.markDelivered(stream: b.id, through: bIDs[70])
        try assertCountersExact(image, "a cursor moved past anything read, counted in SQL")
        try store(reopened, [record(260, stream: "a")])
        try assertCountersExact(image, "and they go on counting")
    }

    func testAFormat2SpoolGetsItsCountersCountedOnceWhenUpgraded() throws {
        let spool = try Spool(configuration: .init(path: path, keepDelivered: 3600))
        try store(spool, (0..<120).map { record($0, stream: $0 % 4 == 0 ? "a" : "b") })
        let a = try stream(spool, "a")
        let pending = try spool.undelivered(stream: a.id, limit: 10)
        try spool.markDelivered(stream: a.id, through: pending[9].id, deadLetters: [DeadLetter(recordID: pending[2].id, reason: "tooOld")])
        spool.close()
        let expected = try counted(path).scanned
        // Back to format 2, as that release wrote it: streams without counters or outputs.
        try OlderStreamsTable.rebuild(path, version: 2, columns: OlderStreamsTable.format2)

        let inspector = try SpoolInspector(path: path)
        let before = try inspector.statistics()
        XCTAssertEqual(before.records, 120, "status on a format 2 spool counts its rows")
        XCTAssertEqual(before.undeliveredRecords, 110)
        XCTAssertEqual(try inspector.streamStatus().first { $0.logStream == "a" }?.deadLetters, 1)

        let upgraded = try Spool(configuration: .init(path: path, keepDelivered: 3600))
        defer { upgraded.close() }
        XCTAssertEqual(try counted(path).counters, expected)
        XCTAssertNotNil(try inspector.streamStatus().first { $0.logStream == "a" }?.lastDeliveredAt, "the last delivery is carried over")
        XCTAssertEqual(try SQLiteDatabase(path: path, create: false).integer("PRAGMA user_version"), SpoolSchema.version)
    }

    func testIdleStreamsArePrunedAndAStreamThatLogsAgainIsMadeAgain() throws {
        let spool = try Spool(configuration: .init(path: path, keepDelivered: 0))
        defer { spool.close() }
        try store(spool, (0..<30).map { record($0, stream: ["gone", "live", "dead"][$0 % 3]) })
        let gone = try stream(spool, "gone")
        try spool.markDelivered(stream: gone.id, through: try XCTUnwrap(try spool.undelivered(stream: gone.id, limit: 100).last).id)
        let live = try stream(spool, "live")
        let livePending = try spool.undelivered(stream: live.id, limit: 100)
        try spool.markDelivered(stream: live.id, through: livePending[4].id)
        let dead = try stream(spool, "dead")
        let deadPending = try spool.undelivered(stream: dead.id, limit: 100)
        try spool.markDelivered(stream: dead.id, through: try XCTUnwrap(deadPending.last).id,
                                deadLetters: [DeadLetter(recordID: deadPending[0].id, reason: "tooOld")])
        spool.runMaintenance()

        let names = try SpoolInspector(path: path).statistics()
        XCTAssertEqual(names.streams, 2, "the delivered, evicted stream without dead letters is pruned")
        XCTAssertEqual(try spool.streamsWithPendingRecords().map(\.logStream), ["live"])
        XCTAssertEqual(try spool.undelivered(stream: live.id, limit: 100), Array(livePending[5...]), "the live stream keeps its cursor")

        // The writer had the pruned stream's row cached: it must make the row again, not write records to no stream.
        try store(spool, [record(100, stream: "gone"), record(101, stream: "live")])
        let again = try stream(spool, "gone")
        XCTAssertNotEqual(again.id, gone.id)
        XCTAssertEqual(try spool.undelivered(stream: again.id, limit: 10).map(\.message), [record(100, stream: "gone").message])
        XCTAssertEqual(try spool.undelivered(stream: live.id, limit: 100).map(\.message), Array(livePending[5...]).map(\.message) + [record(101, stream: "live").message])
        try assertCountersExact(path, "after the stream came back")
    }

    func testAStreamStaysForTheReplayWindowAfterItsLastDelivery() throws {
        let spool = try Spool(configuration: .init(path: path, keepDelivered: 3600))
        try store(spool, (0..<10).map { record($0, stream: "s") })
        let s = try stream(spool, "s")
        try spool.markDelivered(stream: s.id, through: try XCTUnwrap(try spool.undelivered(stream: s.id, limit: 100).last).id)
        spool.close()

        let database = try SQLiteDatabase(path: path, create: false)
        defer { database.close() }
        let maintenance = SpoolMaintenance(database: database, pressure: SpoolPressure { _, _, _ in },
                                           budget: DiskBudget(spoolPath: path, reserveBytes: 0, headroomBytes: 0),
                                           limits: .init(keepDelivered: 3600, totalLimitBytes: nil, interval: 3600), pruned: PrunedStreams(), logger: .init(label: "test"))
        defer { maintenance.stop() }
        let now = Int64(Date().timeIntervalSince1970)
        XCTAssertEqual(try maintenance.removeIdleStreams(lastDeliveredBefore: now + 10), 0, "a stream with records stays")
        XCTAssertEqual(try maintenance.removeDelivered(deliveredBefore: .max), 10, "evicted early, as under backpressure")
        XCTAssertEqual(try maintenance.removeIdleStreams(lastDeliveredBefore: now - 3600), 0, "delivered inside the window: it stays")
        XCTAssertEqual(try maintenance.removeIdleStreams(lastDeliveredBefore: now + 10), 1, "once the window has passed it goes")
        XCTAssertEqual(try database.integer("SELECT count(*) FROM streams"), 0)
        XCTAssertEqual(try database.integer("SELECT count(*) FROM deliveries"), 0, "with its delivery rows")
    }

    /// A record whose shape is gone (spool damage) counted its whole message when stored and can
    /// only count its middle when its cursor passes it: once nothing is pending, no bytes are either.
    func testPendingBytesReturnToZeroOnceARecordWhoseShapeIsMissingIsPassed() throws {
        let spool = try Spool(configuration: .init(path: path))
        defer { spool.close() }
        try store(spool, (0..<60).map { record($0, stream: "a") })
        let database = try SQLiteDatabase(path: path, create: false)
        XCTAssertGreaterThan(try database.integer("SELECT count(*) FROM records WHERE shape IS NOT NULL"), 30)
        try database.execute("DELETE FROM shapes")
        database.close()
        let a = try stream(spool, "a")
        let half = try spool.undelivered(stream: a.id, limit: 30)
        let damaged = half.filter { $0.missingShape != nil }
        XCTAssertFalse(damaged.isEmpty)
        // Through what was read (`RecentReads`), then past anything read (counted in SQL): both ways.
        try spool.markDelivered(stream: a.id, through: try XCTUnwrap(half.last).id, deadLetters: damaged.map { DeadLetter(recordID: $0.id, reason: "spool damage") })
        XCTAssertGreaterThan(try XCTUnwrap(try SpoolInspector(path: path).streamStatus().first).undeliveredBytes, 0, "30 records still pending")
        try spool.markDelivered(stream: a.id, through: Int64.max - 1)
        let status = try XCTUnwrap(try SpoolInspector(path: path).streamStatus().first)
        XCTAssertEqual(status.undeliveredRecords, 0)
        XCTAssertEqual(status.undeliveredBytes, 0, "nothing pending, no bytes pending")
    }

    /// Housekeeping's pruned streams leave the writer's cache of stream ids before its next
    /// commit, instead of staying for good (one per container ever seen).
    func testAPrunedStreamLeavesTheWritersCache() throws {
        let spool = try Spool(configuration: .init(path: path, keepDelivered: 0))
        defer { spool.close() }
        try store(spool, (0..<10).map { record($0, stream: $0 % 2 == 0 ? "gone" : "live") })
        XCTAssertEqual(spool.cachedStreams, 2)
        let gone = try stream(spool, "gone")
        try spool.markDelivered(stream: gone.id, through: try XCTUnwrap(try spool.undelivered(stream: gone.id, limit: 100).last).id)
        spool.runMaintenance()
        XCTAssertEqual(try SpoolInspector(path: path).statistics().streams, 1, "the delivered stream is pruned")
        try store(spool, [record(10, stream: "live")])
        XCTAssertEqual(spool.cachedStreams, 1, "the writer let the pruned stream go")
        try store(spool, [record(11, stream: "gone"), record(12, stream: "live")])
        XCTAssertEqual(spool.cachedStreams, 2)
        let again = try stream(spool, "gone")
        XCTAssertNotEqual(again.id, gone.id, "a new row")
        XCTAssertEqual(try spool.undelivered(stream: again.id, limit: 10).map(\.timeNanoseconds), [1_011])
        try assertCountersExact(path, "after the stream came back")
    }

    /// A writer that cached a stream housekeeping (or another process) removed after the writer
    /// last looked rolls back, makes the row again and commits; its other cached streams stay.
    func testAStreamRowGoneUnderTheWriterIsMadeAgainAndTheOthersStayCached() throws {
        let spool = try Spool(configuration: .init(path: path, keepDelivered: 0))
        defer { spool.close() }
        try store(spool, (0..<9).map { record($0, stream: ["gone", "b", "c"][$0 % 3]) })
        let gone = try stream(spool, "gone")
        try spool.markDelivered(stream: gone.id, through: try XCTUnwrap(try spool.undelivered(stream: gone.id, limit: 100).last).id)
        let database = try SQLiteDatabase(path: path, create: false)
        try database.execute("DELETE FROM records WHERE stream_id = \(gone.id)")
        try database.execute("DELETE FROM deliveries WHERE stream_id = \(gone.id)")
        try database.execute("DELETE FROM streams WHERE id = \(gone.id)")
        database.close()
        try store(spool, [record(20, stream: "b"), record(21, stream: "gone"), record(22, stream: "c")])
        XCTAssertEqual(spool.cachedStreams, 3)
        let again = try stream(spool, "gone")
        XCTAssertNotEqual(again.id, gone.id)
        XCTAssertEqual(try spool.undelivered(stream: again.id, limit: 10).map(\.timeNanoseconds), [1_021])
        XCTAssertEqual(try spool.undelivered(stream: try stream(spool, "b").id, limit: 10).count, 4)
        try assertCountersExact(path, "after the row was made again")
    }

    /// The uploaders' list of streams to send comes from the counters (one row per stream), not from probing the records.
    func testStreamsWithPendingRecordsAreTheOnesTheCountersCount() throws {
        let spool = try Spool(configuration: .init(path: path))
        defer { spool.close() }
        try store(spool, (0..<6).map { record($0, stream: $0 % 2 == 0 ? "a" : "b") })
        let database = try SQLiteDatabase(path: path, create: false)
        defer { database.close() }
        try database.execute("UPDATE streams SET pending_records = 0 WHERE log_stream = 'b'")
        XCTAssertEqual(try spool.streamsWithPendingRecords().map(\.logStream), ["a"], "what the counters say, whatever the records table holds")
    }
}
