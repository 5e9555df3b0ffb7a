import Foundation

/// The live spool as a salvage writes to it: a second writer beside a running
/// shipper, serialised by SQLite's own locking (the busy timeout waits out the
/// shipper's group commits, and these transactions are as short).
///
/// Records go in whole (no shape, no chunk) with their destination, time and
/// tag. The same transaction moves the source's `copied_through` mark in
/// `salvage_sources` past them, and records at or below the mark are never
/// copied again: an interrupted or repeated salvage copies no record twice.
/// It also indexes them by stream (`StreamIndex`).
/// One row per source, not per record: rows that stayed for ever would count
/// against `storage.total_limit_size`.
final class SalvageTarget {
    private let database: SQLiteDatabase
    private let streamRows: StreamRows
    private let counters: StreamCounters
    private let insertRecord: SQLiteStatement
    private let markCopied: SQLiteStatement
    /// The stream ids of the open transaction only: the shipper's housekeeping
    /// may prune an idle stream's row between two of them.
    private var streamIDs: [SpoolRecords.Destination: Int64] = [:]
    private(set) var streamsUsed: Set<Int64> = []

    init(path: String) throws {
        guard FileManager.default.fileExists(atPath: path) else {
            throw SalvageError.liveSpool(path: path, reason: "no spool there (start the shipper once, or name it with --storage-path / -c)")
        }
        do {
            let database = try SQLiteDatabase(path: path, create: false)
            self.database = database
            try database.execute("PRAGMA synchronous = FULL")
            let version = try database.integer("PRAGMA user_version")
            guard version == SpoolSchema.version else {
                throw SalvageError.liveSpool(path: path, reason: "its schema version is \(version), this shipper writes \(SpoolSchema.version); start this shipper on it once first")
            }
            // Adds salvage_sources to a spool made before it existed; everything else is there already.
            try database.transaction {
                for statement in SpoolSchema.statements { try database.execute(statement) }
            }
            streamRows = try StreamRows(database: database)
            counters = try StreamCounters(database: database)
            insertRecord = try database.prepare("INSERT INTO records(stream_id, time_ns, tag, message, chunk, shape) VALUES(?, ?, ?, ?, NULL, NULL)")
            markCopied = try database.prepare("""
                INSERT INTO salvage_sources(source, file_name, copied_through, salvaged_at) VALUES(?1, ?2, ?3, ?4)
                ON CONFLICT(source) DO UPDATE SET copied_through = max(copied_through, excluded.copied_through), salvaged_at = excluded.salvaged_at
                """)
        } catch let error as SQLiteError {
            throw SalvageError.liveSpool(path: path, reason: error.description)
        }
    }

    /// The highest id of `source` already copied (0 if none).
    func copiedThrough(source: String) throws -> Int64 {
        let statement = try database.prepare("SELECT copied_through FROM salvage_sources WHERE source = ?")
        try statement.bind(1, source)
        return try statement.step() ? statement.int64(0) : 0
    }

    /// Inserts `records` and moves the source's mark to `lastID`, its id of the
    /// last of them, in one transaction.
    func copy(_ records: [SpoolRecord], through lastID: Int64, source: String, fileName: String) throws {
        var used: [Int64] = []
        streamIDs.removeAll()
        counters.discard()
        try database.transaction {
            for record in records {
                let streamID = try id(SpoolRecords.Destination(output: record.output, logGroup: record.logGroup, logStream: record.logStream))
                used.append(streamID)
                defer { insertRecord.reset() }
                try insertRecord.bind(1, streamID)
                try insertRecord.bind(2, record.timeNanoseconds)
                try insertRecord.bind(3, record.tag)
                try insertRecord.bind(4, record.message)
                try insertRecord.step()
                counters.add(streamID: streamID, messageBytes: record.message.count)
            }
            try counters.flush()
            // The shipper's writer indexes only the tail its own commits make: a salvage of millions would stay in it.
            try StreamIndex.catchUp(database)
            defer { markCopied.reset() }
            try markCopied.bind(1, source)
            try markCopied.bind(2, fileName)
            try markCopied.bind(3, lastID)
            try markCopied.bind(4, Int64(Date().timeIntervalSince1970))
            try markCopied.step()
        }
        streamsUsed.formUnion(used)
    }

    /// The live spool's id for the stream's destination, creating its row as the shipper's writer does.
    private func id(_ destination: SpoolRecords.Destination) throws -> Int64 {
        if let id = streamIDs[destination] { return id }
        let id = try streamRows.id(output: destination.output, group: destination.logGroup, stream: destination.logStream).id
        streamIDs[destination] = id
        return id
    }
}
