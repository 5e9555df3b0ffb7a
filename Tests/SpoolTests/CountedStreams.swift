import Foundation
import XCTest
@testable import Spool

/// The streams' counters against a count of the rows, per stream name, for the tests of what moves them;
/// and the index of records by stream against the records.
extension SpoolFileTestCase {
    /// One stream as counting its rows sees it.
    struct Counted: Equatable {
        var records: Int64
        var pending: Int64
        var pendingBytes: Int64
        var deadLetters: Int64
    }

    /// What the rows of `file` hold per stream (named `group/stream`, with its output's name
    /// before it when that is not the first output's), by scans; and what the counters say.
    func counted(_ file: String) throws -> (scanned: [String: Counted], counters: [String: Counted]) {
        let database = try SQLiteDatabase(path: file, create: false)
        defer { database.close() }
        let scan = try database.prepare("""
            SELECT CASE WHEN s.output = 0 THEN '' ELSE s.output_name || ' ' END || s.log_group || '/' || s.log_stream, (SELECT count(*) FROM records r WHERE r.stream_id = s.id),
                   (SELECT count(*) FROM records r WHERE r.stream_id = s.id AND r.id > s.delivered_through),
                   (SELECT coalesce(sum(\(SpoolSchema.messageLength(of: "r"))), 0) FROM records r WHERE r.stream_id = s.id AND r.id > s.delivered_through),
                   (SELECT count(*) FROM dead_letters l WHERE l.stream_id = s.id),
                   records, pending_records, pending_bytes, dead_letters
            FROM streams s
            """)
        var scanned: [String: Counted] = [:]
        var counters: [String: Counted] = [:]
        while try scan.step() {
            scanned[scan.text(0)] = Counted(records: scan.int64(1), pending: scan.int64(2), pendingBytes: scan.int64(3), deadLetters: scan.int64(4))
            counters[scan.text(0)] = Counted(records: scan.int64(5), pending: scan.int64(6), pendingBytes: scan.int64(7), deadLetters: scan.int64(8))
        }
        XCTAssertEqual(try database.integer("SELECT count(*) FROM records WHERE stream_id NOT IN (SELECT id FROM streams)"), 0, "no record without its stream")
        return (scanned, counters)
    }

    /// `StreamIndex`'s invariant: every record at or below the mark has its entry, every entry its
    /// record, none is above the mark, and the tail above it is shorter than the writer lets it grow.
    func assertStreamIndexExact(_ file: String, _ step: String, file testFile: StaticString = #filePath, line: UInt = #line) throws {
        let database = try SQLiteDatabase(path: file, create: false)
        defer { database.close() }
        let mark = StreamIndex.indexedThrough
        XCTAssertEqual(try database.integer("""
            SELECT count(*) FROM records r WHERE r.id <= \(mark)
            AND NOT EXISTS (SELECT 1 FROM stream_index i WHERE i.stream_id = r.stream_id AND i.id = r.id)
            """), 0, "\(step): records at or below the mark without their entry", file: testFile, line: line)
        XCTAssertEqual(try database.integer("""
            SELECT count(*) FROM stream_index i WHERE NOT EXISTS (SELECT 1 FROM records r WHERE r.id = i.id AND r.stream_id = i.stream_id)
            """), 0, "\(step): entries without their record", file: testFile, line: line)
        XCTAssertEqual(try database.integer("SELECT count(*) FROM stream_index WHERE id > \(mark)"), 0,
                       "\(step): entries above the mark", file: testFile, line: line)
        XCTAssertLessThan(try database.integer("SELECT count(*) FROM records WHERE id > \(mark)"), Int64(StreamIndex.maxTailRecords),
                          "\(step): the unindexed tail", file: testFile, line: line)
    }

    func assertCountersExact(_ file: String, _ step: String, file testFile: StaticString = #filePath, line: UInt = #line) throws {
        try assertStreamIndexExact(file, step, file: testFile, line: line)
        let (scanned, counters) = try counted(file)
        XCTAssertEqual(counters, scanned, step, file: testFile, line: line)
        let statistics = try SpoolInspector(path: file).statistics()
        XCTAssertEqual(Int64(statistics.records), scanned.values.reduce(0) { $0 + $1.records }, step, file: testFile, line: line)
        XCTAssertEqual(Int64(statistics.undeliveredRecords), scanned.values.reduce(0) { $0 + $1.pending }, step, file: testFile, line: line)
        XCTAssertEqual(Int64(statistics.deadLetters), scanned.values.reduce(0) { $0 + $1.deadLetters }, step, file: testFile, line: line)
    }
}
