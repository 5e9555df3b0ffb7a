import Foundation
import XCTest
@testable import Spool

/// The writer's VFS gathers WAL writes until a sync; other connections, which
/// read the WAL through the platform's VFS, must see every commit whole.
final class CoalescedWALWritesTests: SpoolFileTestCase {
    private func bytes(_ row: Int, _ version: Int, count: Int) -> [UInt8] {
        (0..<count).map { UInt8(truncatingIfNeeded: $0 &* 31 &+ row &* 7 &+ version &* 13) }
    }

    /// What the other connection reads: every row's version, and whether its bytes are what that version wrote.
    private func read(_ reader: SQLiteDatabase, rows: Int, size: Int) throws -> [Int: Int] {
        let statement = try reader.prepare("SELECT id, version, body FROM t ORDER BY id")
        var versions: [Int: Int] = [:]
        while try statement.step() {
            let id = Int(statement.int64(0))
            let version = Int(statement.int64(1))
            XCTAssertEqual(statement.blob(2), bytes(id, version, count: size), "row \(id), version \(version)")
            versions[id] = version
        }
        return versions
    }

    /// Commits of one row up to several times the buffer, and transactions that
    /// spill pages from a small cache and then change them again (frames read back
    /// and rewritten in place): after each commit another connection reads it all.
    func testEveryCommitIsReadWholeByAnotherConnection() throws {
        XCTAssertTrue(CoalescedWALWrites.isRegistered)
        let writer = try SQLiteDatabase(syncingEveryCommit: path)
        defer { writer.close() }
        try writer.execute("PRAGMA journal_mode = WAL")
        try writer.execute("PRAGMA cache_size = 16")
        try writer.execute("PRAGMA wal_autocheckpoint = 0")
        try writer.execute("CREATE TABLE t(id INTEGER PRIMARY KEY, version INTEGER NOT NULL, body BLOB NOT NULL)")
        let reader = try SQLiteDatabase(path: path, create: false)
        defer { reader.close() }
        let size = 700
        let upsert = try writer.prepare("INSERT OR REPLACE INTO t(id, version, body) VALUES(?, ?, ?)")
        var expected: [Int: Int] = [:]
        var version = 0
        for rows in [1, 7, 60, 400, 2_000] {
            version += 1
            try writer.transaction {
                // Each row twice, the second pass backwards: it changes first the pages the first pass spilled last,
                // which SQLite reads back from the WAL while they may still be in the buffer.
                for pass in 0..<2 {
                    for id in pass == 0 ? Array(0..<rows) : Array((0..<rows).reversed()) {
                        upsert.reset()
                        try upsert.bind(1, Int64(id))
                        try upsert.bind(2, Int64(version * 2 + pass))
                        try upsert.bind(3, bytes(id, version * 2 + pass, count: size))
                        try upsert.step()
                        expected[id] = version * 2 + pass
                    }
                }
            }
            XCTAssertEqual(try read(reader, rows: rows, size: size), expected, "after the commit of \(rows) rows")
        }
        XCTAssertGreaterThan(try FileManager.default.attributesOfItem(atPath: path + "-wal")[.size] as? Int ?? 0, 4 * CoalescedWALWrites.bufferCapacity,
                             "commits larger than the buffer were written")
        try writer.execute("PRAGMA wal_checkpoint(TRUNCATE)")
        XCTAssertEqual(try read(reader, rows: 2_000, size: size), expected, "after a checkpoint into the database")
        let check = try reader.prepare("PRAGMA integrity_check")
        XCTAssertTrue(try check.step())
        XCTAssertEqual(check.text(0), "ok")
    }

    /// A transaction that spilled pages into the buffer and then rolled back leaves
    /// dead frames there; another connection then commits its own frames over the
    /// same bytes of the WAL. The dead frames must never reach the file.
    func testARolledBackTransactionsFramesNeverOverwriteAnotherConnectionsCommit() throws {
        let size = 700
        let writer = try SQLiteDatabase(syncingEveryCommit: path)
        defer { writer.close() }
        try writer.execute("PRAGMA journal_mode = WAL")
        try writer.execute("PRAGMA cache_size = 16")
        try writer.execute("PRAGMA wal_autocheckpoint = 0")
        try writer.execute("CREATE TABLE t(id INTEGER PRIMARY KEY, version INTEGER NOT NULL, body BLOB NOT NULL)")
        let other = try SQLiteDatabase(path: path, create: false)
        defer { other.close() }
        func insert(_ database: SQLiteDatabase, _ ids: Range<Int>, version: Int) throws {
            let statement = try database.prepare("INSERT OR REPLACE INTO t(id, version, body) VALUES(?, ?, ?)")
            for id in ids {
                statement.reset()
                try statement.bind(1, Int64(id))
                try statement.bind(2, Int64(version))
                try statement.bind(3, bytes(id, version, count: size))
                try statement.step()
            }
        }
        struct Abort: Error {}
        var expected: [Int: Int] = [:]
        // Rolled-back transactions of a few spilled pages, all in the buffer, up to more than it holds.
        for (round, rows) in [60, 120, 200, 400].enumerated() {
            let base = round * 10_000
            XCTAssertThrowsError(try writer.transaction {
                try insert(writer, base..<base + rows, version: 1)
                throw Abort()
            })
            try other.transaction { try insert(other, base..<base + 40, version: 2) }
            try writer.transaction { try insert(writer, base + 5_000..<base + 5_010, version: 3) }
            for id in base..<base + 40 { expected[id] = 2 }
            for id in base + 5_000..<base + 5_010 { expected[id] = 3 }
            XCTAssertEqual(try read(other, rows: 0, size: size), expected, "after rolling back \(rows) rows: the other connection's commit and the writer's, whole")
            XCTAssertEqual(try read(writer, rows: 0, size: size), expected)
        }
        let check = try other.prepare("PRAGMA integrity_check")
        XCTAssertTrue(try check.step())
        XCTAssertEqual(check.text(0), "ok")
    }

    /// A crash loses nothing committed: the WAL another process finds (this one, once
    /// the writer's connection is gone without a checkpoint) holds every commit.
    func testEveryCommitIsInTheWALWhenTheWriterGoesWithoutACheckpoint() throws {
        let size = 300
        var expected: [Int: Int] = [:]
        do {
            let writer = try SQLiteDatabase(syncingEveryCommit: path)
            try writer.execute("PRAGMA journal_mode = WAL")
            try writer.execute("PRAGMA wal_autocheckpoint = 0")
            try writer.execute("CREATE TABLE t(id INTEGER PRIMARY KEY, version INTEGER NOT NULL, body BLOB NOT NULL)")
            let insert = try writer.prepare("INSERT INTO t(id, version, body) VALUES(?, 1, ?)")
            for commit in 0..<50 {
                try writer.transaction {
                    for id in commit * 20..<(commit + 1) * 20 {
                        insert.reset()
                        try insert.bind(1, Int64(id))
                        try insert.bind(2, bytes(id, 1, count: size))
                        try insert.step()
                        expected[id] = 1
                    }
                }
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
        XCTAssertEqual(try read(reader, rows: 1_000, size: size), expected)
    }
}
