import Foundation
import XCTest
@testable import Spool

/// The writer's VFS gathers WAL writes until a sync; other connections, which
/// read the WAL through the platform's VFS, must see every commit whole.
final class CoalescedWALWritesTests: SpoolFileTestCase {
    private let size = 700

    private func bytes(_ row: Int, _ version: Int) -> [UInt8] {
        (0..<size).map { UInt8(truncatingIfNeeded: $0 &* 31 &+ row &* 7 &+ version &* 13) }
    }

    /// A connection through the VFS on a new WAL-mode file with one table, never
    /// checkpointing by itself; `cachePages` small makes SQLite spill pages to the
    /// WAL inside a transaction.
    private func openWriter(cachePages: Int? = nil) throws -> SQLiteDatabase {
        XCTAssertTrue(CoalescedWALWrites.isRegistered)
        let writer = try SQLiteDatabase(syncingEveryCommit: path)
        try writer.execute("PRAGMA journal_mode = WAL")
        if let cachePages { try writer.execute("PRAGMA cache_size = \(cachePages)") }
        try writer.execute("PRAGMA wal_autocheckpoint = 0")
        try writer.execute("CREATE TABLE t(id INTEGER PRIMARY KEY, version INTEGER NOT NULL, body BLOB NOT NULL)")
        return writer
    }

    /// Writes rows `ids` (in that order) at `version`, and notes them in `expected`.
    private func write(_ database: SQLiteDatabase, _ ids: [Int], version: Int, into expected: inout [Int: Int]) throws {
        let statement = try database.prepare("INSERT OR REPLACE INTO t(id, version, body) VALUES(?, ?, ?)")
        for id in ids {
            statement.reset()
            try statement.bind(1, Int64(id))
            try statement.bind(2, Int64(version))
            try statement.bind(3, bytes(id, version))
            try statement.step()
            expected[id] = version
        }
    }

    /// What a connection reads: every row's version, each checked to hold what that version wrote.
    private func read(_ database: SQLiteDatabase) throws -> [Int: Int] {
        let statement = try database.prepare("SELECT id, version, body FROM t ORDER BY id")
        var versions: [Int: Int] = [:]
        while try statement.step() {
            let id = Int(statement.int64(0))
            let version = Int(statement.int64(1))
            XCTAssertEqual(statement.blob(2), bytes(id, version), "row \(id), version \(version)")
            versions[id] = version
        }
        return versions
    }

    private func assertIntact(_ database: SQLiteDatabase, file: StaticString = #filePath, line: UInt = #line) throws {
        let check = try database.prepare("PRAGMA integrity_check")
        XCTAssertTrue(try check.step(), file: file, line: line)
        XCTAssertEqual(check.text(0), "ok", file: file, line: line)
    }

    /// Commits of one row up to several times the buffer, and transactions that
    /// spill pages from a small cache and then change them again (frames read back
    /// and rewritten in place): after each commit another connection reads it all.
    func testEveryCommitIsReadWholeByAnotherConnection() throws {
        let writer = try openWriter(cachePages: 16)
        defer { writer.close() }
        let reader = try SQLiteDatabase(path: path, create: false)
        defer { reader.close() }
        var expected: [Int: Int] = [:]
        for (commit, rows) in [1, 7, 60, 400, 2_000].enumerated() {
            try writer.transaction {
                // Each row twice, the second pass backwards: it changes first the pages the first pass spilled last,
                // which SQLite reads back from the WAL while they may still be in the buffer.
                try write(writer, Array(0..<rows), version: commit * 2, into: &expected)
                try write(writer, Array((0..<rows).reversed()), version: commit * 2 + 1, into: &expected)
            }
            XCTAssertEqual(try read(reader), expected, "after the commit of \(rows) rows")
        }
        XCTAssertGreaterThan(try FileManager.default.attributesOfItem(atPath: path + "-wal")[.size] as? Int ?? 0, 4 * CoalescedWALWrites.bufferCapacity,
                             "commits larger than the buffer were written")
        try writer.execute("PRAGMA wal_checkpoint(TRUNCATE)")
        XCTAssertEqual(try read(reader), expected, "after a checkpoint into the database")
        try assertIntact(reader)
    }

    /// A transaction that spilled pages into the buffer and then rolled back leaves
    /// dead frames there; another connection then commits its own frames over the
    /// same bytes of the WAL. The dead frames must never reach the file.
    func testARolledBackTransactionsFramesNeverOverwriteAnotherConnectionsCommit() throws {
        let writer = try openWriter(cachePages: 16)
        defer { writer.close() }
        let other = try SQLiteDatabase(path: path, create: false)
        defer { other.close() }
        struct Abort: Error {}
        var expected: [Int: Int] = [:]
        // Rolled-back transactions of a few spilled pages, all in the buffer, up to more than it holds.
        for (round, rows) in [60, 120, 200, 400].enumerated() {
            let base = round * 10_000
            var rolledBack: [Int: Int] = [:]
            XCTAssertThrowsError(try writer.transaction {
                try write(writer, Array(base..<base + rows), version: 1, into: &rolledBack)
                throw Abort()
            })
            try other.transaction { try write(other, Array(base..<base + 40), version: 2, into: &expected) }
            try writer.transaction { try write(writer, Array(base + 5_000..<base + 5_010), version: 3, into: &expected) }
            XCTAssertEqual(try read(other), expected, "after rolling back \(rows) rows: the other connection's commit and the writer's, whole")
            XCTAssertEqual(try read(writer), expected)
        }
        try assertIntact(other)
    }

    /// A crash loses nothing committed: the WAL another process finds (this one, once
    /// the writer's connection is gone without a checkpoint) holds every commit.
    func testEveryCommitIsInTheWALWhenTheWriterGoesWithoutACheckpoint() throws {
        var expected: [Int: Int] = [:]
        do {
            let writer = try openWriter()
            for commit in 0..<50 {
                try writer.transaction { try write(writer, Array(commit * 20..<(commit + 1) * 20), version: 1, into: &expected) }
            }
            // Copied while the writer is open: closing the last connection would checkpoint the WAL and delete it.
            try FileManager.default.copyItem(atPath: path + "-wal", toPath: path + "-wal.kept")
            try FileManager.default.copyItem(atPath: path, toPath: path + ".kept")
            writer.close()
        }
        // The copies are what a kill -9 leaves: a database without the commits, and the WAL with them.
        for suffix in ["", "-wal", "-shm"] { try? FileManager.default.removeItem(atPath: path + suffix) }
        try FileManager.default.moveItem(atPath: path + ".kept", toPath: path)
        try FileManager.default.moveItem(atPath: path + "-wal.kept", toPath: path + "-wal")
        let reader = try SQLiteDatabase(path: path, create: false)
        defer { reader.close() }
        XCTAssertEqual(try read(reader), expected)
        try assertIntact(reader)
    }
}
