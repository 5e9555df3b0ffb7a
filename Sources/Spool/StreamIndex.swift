/// Which records belong to which stream: `stream_index(stream_id, id)`,
/// built behind the writer in batches, with `stream_index_state.indexed_through`
/// the id up to which it is complete.
///
/// An index SQLite keeps on `records(stream_id, id)` changes one of its leaf
/// pages for every stream a commit touches. With a stream per container and
/// Docker's one line in flight per container, a commit of 40 acked lines
/// changed about 40 leaves of that index for 4 pages of records: each a WAL
/// frame written, checksummed, synced and later checkpointed. Measured with
/// `shipper-bench ingest --connections 50 --ack`, the spool without that
/// index used 0.6 of the writer's CPU and half the p99 ack latency.
///
/// So the writer adds the index entries of the records above the mark only
/// once they reach `maxTailRecords` or `maxTailBytes`, in the commit that
/// crosses it (`StreamIndexer`): a leaf then takes about 40 entries in one
/// change instead of one. Readers take a stream's records in two parts
/// (`records(ofStream:…)`): those at or below the mark through the index,
/// those above it by scanning the tail of `records` by id, which holds at
/// most that many records. The mark is read by the same statement as the
/// index, so a catch-up committed between two reads changes nothing: the
/// parts meet at the mark each statement saw.
///
/// Invariant: every record with an id at or below `indexed_through` has its
/// entry, and every entry its record (a record is deleted in the transaction
/// that deletes its entry, `SpoolMaintenance.removeDelivered`). Whoever
/// inserts records without the writer (salvage) catches the index up in the
/// same transaction; housekeeping catches it up before it evicts delivered
/// records above the mark.
enum StreamIndex {
    /// The tail of unindexed records is caught up once it holds this many records…
    static let maxTailRecords = 2_048
    /// …or this many bytes of records, so that scanning it stays a few MiB.
    static let maxTailBytes = 4 << 20

    static let indexedThrough = "(SELECT indexed_through FROM stream_index_state)"

    /// The tables, and the mark's one row (0 in a new file).
    static let statements = [
        "CREATE TABLE IF NOT EXISTS stream_index(stream_id INTEGER NOT NULL, id INTEGER NOT NULL, PRIMARY KEY(stream_id, id)) WITHOUT ROWID",
        "CREATE TABLE IF NOT EXISTS stream_index_state(indexed_through INTEGER NOT NULL)",
        "INSERT INTO stream_index_state(indexed_through) SELECT 0 WHERE NOT EXISTS (SELECT 1 FROM stream_index_state)",
    ]

    /// Indexes every record above the mark and moves the mark to the newest record, inside the caller's transaction.
    static let catchUpSQL = [
        "INSERT INTO stream_index(stream_id, id) SELECT stream_id, id FROM records WHERE id > \(indexedThrough)",
        "UPDATE stream_index_state SET indexed_through = max(indexed_through, (SELECT coalesce(max(id), 0) FROM records))",
    ]

    /// Runs `catchUpSQL` inside the caller's open transaction.
    static func catchUp(_ database: SQLiteDatabase) throws {
        for statement in catchUpSQL { try database.execute(statement) }
    }

    /// The records of `stream` with ids above `after` (and at most `through`), at or below
    /// the mark: a select of `id` then `columns` (over `records r`), in id order through the index.
    static func indexedRecords(ofStream stream: String, after: String, through: String? = nil, columns: String) -> String {
        let upper = through.map { "min(\($0), \(indexedThrough))" } ?? indexedThrough
        return """
            SELECT i.id AS id, \(columns) FROM stream_index i CROSS JOIN records r ON r.id = i.id
            WHERE i.stream_id = \(stream) AND i.id > \(after) AND i.id <= \(upper)
            """
    }

    /// The same above the mark: a scan of the tail of `records` by id.
    static func tailRecords(ofStream stream: String, after: String, through: String? = nil, columns: String) -> String {
        let upper = through.map { " AND r.id <= \($0)" } ?? ""
        return """
            SELECT r.id AS id, \(columns) FROM records r
            WHERE r.id > max(\(after), \(indexedThrough))\(upper) AND r.stream_id = \(stream)
            """
    }

    /// Both parts as one compound select; with `ORDER BY id` SQLite merges them without sorting.
    static func records(ofStream stream: String, after: String, through: String? = nil, columns: String) -> String {
        indexedRecords(ofStream: stream, after: after, through: through, columns: columns)
            + "\nUNION ALL\n" + tailRecords(ofStream: stream, after: after, through: through, columns: columns)
    }
}
