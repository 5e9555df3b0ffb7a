import Foundation

/// A record as read from a damaged spool.
struct DamagedRecord {
    let id: Int64
    let streamID: Int64
    let timeNanoseconds: Int64
    let tag: String
    /// The whole message; nil when the record's shape row is gone, so that its
    /// message cannot be put together (it must not pass for an empty one).
    let message: [UInt8]?
}

/// The records of a damaged spool that could not be read.
struct UnreadableRecords {
    var ids = IDRanges()
    /// Set when the table's end could not be found either: nothing from this id on was read,
    /// and how many records there were is unknown.
    var from: Int64?
}

/// The destinations of a damaged spool that could be read.
struct DamagedStreams {
    var byID: [Int64: SpoolStream] = [:]
    /// Stream ids whose rows could not be read.
    var unreadable = IDRanges()
    /// False when not even the table's bounds could be read: no stream is known.
    var tableReadable = true
}

/// Read-only access to a spool that SQLite reports as damaged (a file
/// `storage.on_corruption move_aside` put aside, or a copy of one).
///
/// Nothing is written to the file; every table is read by id ranges with
/// `BisectingScan`, so what is readable is read whatever else is broken.
final class DamagedSpoolReader {
    let path: String
    private let database: SQLiteDatabase
    /// Spools of schema version 1 have no shapes: every message is whole.
    private let hasShapes: Bool
    /// Spools before format 4 have no outputs: `owner` names each stream's.
    private let hasOutputs: Bool
    private let owner: LegacyStreamOwner

    /// Opens `path`; throws `SalvageError.notASpool` unless it is a SQLite
    /// database whose schema names the spool's records and streams.
    init(path: String, owner: @escaping LegacyStreamOwner) throws {
        self.path = path
        self.owner = owner
        guard FileManager.default.fileExists(atPath: path) else { throw SalvageError.notASpool(path: path, reason: "no such file") }
        do {
            database = try SQLiteDatabase(readingOnly: path)
            // Without it SQLite refuses a file shorter than its header says (a truncated
            // spool) before reading any page; on a read-only connection it writes nothing.
            try database.execute("PRAGMA writable_schema = ON")
            let statement = try database.prepare("SELECT name FROM sqlite_master WHERE type = 'table'")
            var tables: Set<String> = []
            while try statement.step() { tables.insert(statement.text(0)) }
            guard tables.isSuperset(of: ["records", "streams"]) else {
                throw SalvageError.notASpool(path: path, reason: "it is a SQLite database without the spool's records and streams tables")
            }
            hasShapes = tables.contains("shapes")
            let columns = try database.prepare("PRAGMA table_info(streams)")
            var names: Set<String> = []
            while try columns.step() { names.insert(columns.text(1)) }
            hasOutputs = names.isSuperset(of: ["output", "output_name"])
        } catch let error as SQLiteError {
            throw SalvageError.notASpool(path: path, reason: "SQLite cannot read its header or schema: \(error.message) (SQLite code \(error.code))")
        }
    }

    /// Every stream row that can be read.
    func streams() throws -> DamagedStreams {
        var result = DamagedStreams()
        guard let newest = newestID(of: "streams") else {
            result.tableReadable = false
            return result
        }
        guard newest > 0 else { return result }
        let output = hasOutputs ? "output, output_name" : "NULL, NULL"
        let scan = BisectingScan(statement: try database.prepare(
            "SELECT id, log_group, log_stream, delivered_through, \(output) FROM streams WHERE id BETWEEN ?1 AND ?2 ORDER BY id"))
        result.unreadable = try scan.scan(1...newest) { row in
            let group = row.text(1)
            let stream = SpoolStream(id: row.int64(0), output: row.isNull(4) ? owner(group) : SpoolOutput(index: Int(row.int64(4)), name: row.text(5)),
                                     logGroup: group, logStream: row.text(2), deliveredThrough: row.int64(3))
            result.byID[stream.id] = stream
        }
        return result
    }

    /// Calls `visit` with every readable record in id order; returns what could not be read.
    ///
    /// The range to read ends at the newest id the table or its sequence still
    /// tells. When neither can be read, records are read forward until the
    /// first damage, and nothing after it.
    func records(_ visit: (DamagedRecord) throws -> Void) throws -> UnreadableRecords {
        let message = hasShapes ? SpoolSchema.message(of: "r") : "r.message"
        let statement = try database.prepare("""
            SELECT r.id, r.stream_id, r.time_ns, r.tag, \(message) FROM records r WHERE r.id BETWEEN ?1 AND ?2 ORDER BY r.id
            """)
        let row = { (row: SQLiteStatement) in
            try visit(DamagedRecord(id: row.int64(0), streamID: row.int64(1), timeNanoseconds: row.int64(2), tag: row.text(3),
                                    message: row.isNull(4) ? nil : row.blob(4)))
        }
        guard let newest = newestID(of: "records") else {
            return UnreadableRecords(from: try readUntilDamage(statement, row: row))
        }
        return UnreadableRecords(ids: newest > 0 ? try BisectingScan(statement: statement).scan(1...newest, row: row) : IDRanges())
    }

    /// The highest id `table` holds or ever gave out, from whichever of the
    /// table and `sqlite_sequence` can be read; nil if neither can.
    private func newestID(of table: String) -> Int64? {
        let inTable = try? database.integer("SELECT coalesce(max(id), 0) FROM \(table)")
        let sequence = try? database.integer("SELECT coalesce(max(seq), 0) FROM sqlite_sequence WHERE name = '\(table)'")
        switch (inTable, sequence) {
        case (nil, nil): return nil
        default: return max(inTable ?? 0, sequence ?? 0)
        }
    }

    /// One forward pass over all ids, for a table whose end cannot be found
    /// (halving an unbounded range would try ids without end); returns the id
    /// it stopped at on damage, nil if it read to the end.
    private func readUntilDamage(_ statement: SQLiteStatement, row: (SQLiteStatement) throws -> Void) throws -> Int64? {
        defer { statement.reset() }
        try statement.bind(1, 1)
        try statement.bind(2, Int64.max)
        var next: Int64 = 1
        while true {
            do {
                guard try statement.step() else { return nil }
            } catch let error as SQLiteError where error.isDamage {
                return next
            }
            try row(statement)
            next = statement.int64(0) + 1
        }
    }
}
