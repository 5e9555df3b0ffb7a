/// What a writer of records adds to each stream's counters in `streams`
/// (records stored, records and message bytes not yet delivered), written in
/// the same transaction as the records: the counters are exact after a crash,
/// and monitoring reads one row per stream instead of counting records, so a
/// scrape costs the same at ten records as at ten million.
///
/// Records come in runs for one stream, so counting one costs a comparison
/// and two additions; `flush` writes one UPDATE per stream, not per record.
/// Delivery (`Spool.markDelivered`) and eviction (`SpoolMaintenance`) move
/// the counters in their own transactions, with the statements here: every
/// way the counters move is written in this one place.
final class StreamCounters {
    /// Records stored: ?1 the stream, ?2 records, ?3 their message bytes.
    static let storedSQL = """
        UPDATE streams SET records = records + ?2, pending_records = pending_records + ?2, pending_bytes = pending_bytes + ?3 WHERE id = ?1
        """

    /// What a cursor move from ?2 (exclusive) to ?3 passes in stream ?1: records and message bytes.
    static let passedSQL = """
        SELECT count(*), coalesce(sum(\(SpoolSchema.messageLength(of: "r"))), 0)
        FROM (\(StreamIndex.records(ofStream: "?1", after: "?2", through: "?3", columns: "r.message AS message, r.shape AS shape"))) r
        """

    /// A delivery: stream ?1's cursor to ?2, ?3 records and ?4 bytes no longer pending,
    /// ?5 dead letters more, delivered at ?6. A record whose shape is missing (spool
    /// damage) counted its whole message when stored and only its middle when
    /// passed, so the bytes are set to 0 once nothing is pending: the gap cannot
    /// outlive the backlog it is part of.
    static let deliveredSQL = """
        UPDATE streams SET delivered_through = max(delivered_through, ?2), pending_records = pending_records - ?3,
            pending_bytes = CASE WHEN pending_records <= ?3 THEN 0 ELSE max(0, pending_bytes - ?4) END,
            dead_letters = dead_letters + ?5, last_delivered_at = ?6 WHERE id = ?1
        """

    /// Delivered records evicted: ?2 records fewer in stream ?1 (none of them pending).
    static let evictedSQL = "UPDATE streams SET records = records - ?2 WHERE id = ?1"

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
        update = try database.prepare(Self.storedSQL)
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
