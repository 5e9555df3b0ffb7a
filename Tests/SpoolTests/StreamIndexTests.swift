import Foundation
import XCTest
@testable import Spool

/// `StreamIndex`: a stream's records are read whole and in order whether they
/// sit at or below the index's mark, above it in the tail, or on both sides,
/// and every way records come and go keeps the index exact.
final class StreamIndexTests: SpoolFileTestCase {
    private let streams = ["a", "b", "c"]

    private func record(_ n: Int) -> SpoolRecord {
        let stream = streams[n % streams.count]
        return SpoolRecord(output: .first, logGroup: "g", logStream: stream, tag: "t", timeNanoseconds: Int64(1_000 + n),
                           message: Array("\(stream) line \(n) \(String(repeating: "x", count: n % 11))".utf8))
    }

    /// Commits of 1 to 97 records, the streams interleaved, until the tail has been caught up twice
    /// and holds some records again; returns each stream's messages in order.
    private func storeAcrossTheMark(_ spool: Spool) throws -> [String: [[UInt8]]] {
        var expected: [String: [[UInt8]]] = [:]
        var n = 0
        while n < StreamIndex.maxTailRecords * 2 + 500 {
            let records = (n..<n + n % 97 + 1).map(record)
            try spool.append([SpoolAppend(chunk: nil, records: SpoolRecords(records))], durable: true)
            for record in records { expected[record.logStream, default: []].append(record.message) }
            n += records.count
        }
        let (mark, newest) = try marks()
        XCTAssertGreaterThan(mark, 0, "some records are indexed")
        XCTAssertGreaterThan(newest, mark, "and some are in the tail above the mark")
        return expected
    }

    private func marks() throws -> (indexedThrough: Int64, newest: Int64) {
        let database = try SQLiteDatabase(path: path, create: false)
        defer { database.close() }
        return (try database.integer("SELECT \(StreamIndex.indexedThrough)"), try database.integer("SELECT coalesce(max(id), 0) FROM records"))
    }

    private func integer(_ sql: String) throws -> Int64 {
        let database = try SQLiteDatabase(path: path, create: false)
        defer { database.close() }
        return try database.integer(sql)
    }

    private func stream(_ spool: Spool, _ name: String) throws -> SpoolStream {
        try XCTUnwrap(try spool.streamsWithPendingRecords().first { $0.logStream == name }, "\(name) has records pending")
    }

    func testEachStreamIsReadWholeAndInOrderAcrossTheMark() throws {
        let spool = try Spool(configuration: .init(path: path))
        defer { spool.close() }
        let expected = try storeAcrossTheMark(spool)
        try assertCountersExact(path, "after the inserts")
        for name in streams {
            let stream = try stream(spool, name)
            var read: [[UInt8]] = []
            while true {
                let batch = try spool.undelivered(stream: stream.id, limit: 700)
                guard let last = batch.last else { break }
                read += batch.map(\.message)
                try spool.markDelivered(stream: stream.id, through: last.id)
            }
            XCTAssertEqual(read.count, expected[name]?.count, "stream \(name)")
            XCTAssertTrue(read == expected[name], "stream \(name): every message once, in order")
        }
        try assertCountersExact(path, "after every stream was delivered")
    }

    func testACursorMovedWithoutAReadCountsWhatItPassesOnBothSidesOfTheMark() throws {
        var spool = try Spool(configuration: .init(path: path))
        _ = try storeAcrossTheMark(spool)
        let (mark, newest) = try marks()
        // A new spool has read nothing, so the delivery counts what its cursor passes from the rows.
        spool.close()
        spool = try Spool(configuration: .init(path: path))
        defer { spool.close() }
        try spool.markDelivered(stream: try stream(spool, "a").id, through: newest)
        try spool.markDelivered(stream: try stream(spool, "b").id, through: mark)
        try assertCountersExact(path, "after cursors moved past the mark and to it")

        let status = Dictionary(uniqueKeysWithValues: try SpoolInspector(path: path).streamStatus().map { ($0.logStream, $0) })
        let firstTime = { (name: String, after: Int64) in
            try self.integer("""
                SELECT min(r.time_ns) FROM records r JOIN streams s ON s.id = r.stream_id WHERE s.log_stream = '\(name)' AND r.id > \(after)
                """)
        }
        XCTAssertNil(status["a"]?.oldestUndeliveredNanoseconds, "a has nothing pending")
        XCTAssertEqual(status["b"]?.oldestUndeliveredNanoseconds, try firstTime("b", mark), "b's next record is in the tail")
        XCTAssertEqual(status["c"]?.oldestUndeliveredNanoseconds, try firstTime("c", 0), "c's is indexed")
    }

    func testDeliveredRecordsInTheTailAreIndexedThenEvicted() throws {
        let spool = try Spool(configuration: .init(path: path, keepDelivered: 0))
        defer { spool.close() }
        try spool.append([SpoolAppend(chunk: nil, records: SpoolRecords((0..<300).map(record)))], durable: true)
        XCTAssertEqual(try marks().indexedThrough, 0, "300 records stay in the tail")
        for name in streams {
            let stream = try stream(spool, name)
            try spool.markDelivered(stream: stream.id, through: try XCTUnwrap(try spool.undelivered(stream: stream.id, limit: 1_000).last).id)
        }
        spool.runMaintenance()
        XCTAssertEqual(try spool.recordCount(), 0, "every delivered record is evicted, though none was indexed")
        XCTAssertEqual(try integer("SELECT count(*) FROM deliveries"), 0)
        XCTAssertEqual(try marks().indexedThrough, 300, "housekeeping caught the index up first")
        try assertCountersExact(path, "after the eviction")
    }

    func testAFormat5SpoolIsIndexedByStreamAndLosesSQLitesIndex() throws {
        var spool = try Spool(configuration: .init(path: path))
        try spool.append([SpoolAppend(chunk: nil, records: SpoolRecords((0..<600).map(record)))], durable: true)
        spool.close()
        let old = try SQLiteDatabase(path: path, create: false)
        try old.execute("DROP TABLE stream_index")
        try old.execute("DROP TABLE stream_index_state")
        try old.execute("CREATE INDEX records_by_stream ON records(stream_id, id)")
        try old.execute("PRAGMA user_version = 5")
        old.close()

        spool = try Spool(configuration: .init(path: path))
        defer { spool.close() }
        XCTAssertEqual(try integer("PRAGMA user_version"), SpoolSchema.version)
        XCTAssertEqual(try integer("SELECT count(*) FROM sqlite_master WHERE name = 'records_by_stream'"), 0)
        XCTAssertEqual(try integer("SELECT count(*) FROM stream_index"), 600)
        XCTAssertEqual(try marks().indexedThrough, 600)
        try assertCountersExact(path, "after the upgrade")
        let b = try spool.undelivered(stream: try stream(spool, "b").id, limit: 1_000)
        XCTAssertEqual(b.map(\.message), (0..<600).filter { $0 % 3 == 1 }.map { record($0).message })
    }
}
