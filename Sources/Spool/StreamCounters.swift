/// What a writer of records adds to each stream's counters in `streams`
/// (records stored, records and message bytes not yet delivered), written in
/// the same transaction as the records: the counters are exact after a crash,
/// and monitoring reads one row per stream instead of counting records, so a
/// scrape costs the same at ten records as at ten million.
///
/// Records come in runs for one stream, so counting one costs a comparison
/// and two additions; `flush` writes one UPDATE per stream, not per record.
/// Delivery (`Spool.markDelivered`) and eviction (`SpoolMaintenance`) move
/// the counters in their own transactions.
final class StreamCounters {
    /// A stream row the writer had cached is gone (housekeeping pruned it, idle,
    /// between two transactions): the transaction must be rolled back and its
    /// streams resolved again, or its records would belong to no stream.
    struct StreamRowGone: Error {
        let streamID: Int64
    }

    private struct Added {
        let streamID: Int64
        var records: Int64 = 0
        var bytes: Int64 = 0
    }

    private let database: SQLiteDatabase
    private let update: SQLiteStatement
    private var added: [Added] = []
    private var positions: [Int64: Int] = [:]

    init(database: SQLiteDatabase) throws {
        self.database = database
        update = try database.prepare("""
            UPDATE streams SET records = records + ?2, pending_records = pending_records + ?2, pending_bytes = pending_bytes + ?3 WHERE id = ?1
            """)
    }

    /// Counts one record of `messageBytes` (its whole message, shape included) inserted for `streamID`.
    func add(streamID: Int64, messageBytes: Int) {
        let position: Int
        if let last = added.indices.last, added[last].streamID == streamID {
            position = last
        } else if let known = positions[streamID] {
            position = known
        } else {
            position = added.count
            positions[streamID] = position
            added.append(Added(streamID: streamID))
        }
        added[position].records += 1
        added[position].bytes += Int64(messageBytes)
    }

    /// Writes what was counted, inside the caller's open transaction; throws
    /// `StreamRowGone` if a stream's row is not there any more.
    func flush() throws {
        defer { discard() }
        for stream in added {
            defer { update.reset() }
            try update.bind(1, stream.streamID)
            try update.bind(2, stream.records)
            try update.bind(3, stream.bytes)
            try update.step()
            if database.changes == 0 { throw StreamRowGone(streamID: stream.streamID) }
        }
    }

    /// Forgets what was counted, as when its transaction failed.
    func discard() {
        added.removeAll(keepingCapacity: true)
        positions.removeAll(keepingCapacity: true)
    }
}
