/// The spool's tables.
///
/// `AUTOINCREMENT` matters: with a plain rowid SQLite reuses ids once the
/// table empties, and a cursor that reads `id > delivered_through` would skip
/// the new rows for good.
///
/// Version 2 added shapes (`MessageShapes`): a record whose message starts
/// and ends like others of its stream stores only its middle and the id of
/// the shape holding the rest. Version 3 added each stream's counters
/// (`StreamCounters`), so that monitoring reads one row per stream instead of
/// counting records. Version 4 made each stream belong to an output
/// (`SpoolOutput`): two outputs writing the same group and stream are two
/// streams. Version 5 counts the records of each shape (`shape_uses`)
/// instead of indexing records by shape. Version 6 indexes records by stream
/// in batches behind the writer (`StreamIndex`) instead of in every commit.
/// Older files are upgraded in place, one step per version.
enum SpoolSchema {
    static let version: Int64 = 6

    /// One step from a version to the next. `changes` alter the old file's
    /// tables; `backfill` runs once every table of the current version exists
    /// (a version 1 file has no shapes until then) and fills what they added.
    struct Upgrade {
        let name: String
        let changes: [String]
        var backfill: [String] = []
    }

    /// The first version whose streams carry their counters.
    static let streamCountersVersion: Int64 = 3

    /// The first version whose streams belong to an output.
    static let streamOutputsVersion: Int64 = 4

    /// The first version whose records are indexed by stream behind the writer (`StreamIndex`).
    static let streamIndexVersion: Int64 = 6

    /// The step that brings a file of `version` (the key) up to the next version.
    static let upgrades: [Int64: Upgrade] = [
        1: Upgrade(name: "message shapes", changes: ["ALTER TABLE records ADD COLUMN shape INTEGER"]),
        2: streamCounters,
        3: streamOutputs,
        4: shapeUses,
        5: streamIndex,
    ]

    /// Version 6: the index of records by stream made from the records once (one pass),
    /// complete up to the newest of them, in place of the one SQLite kept in every commit.
    static let streamIndex = Upgrade(
        name: "stream index",
        changes: ["DROP INDEX IF EXISTS records_by_stream"],
        backfill: [
            // OR IGNORE: a file of this build marked older (the upgrade tests make them so) has entries already.
            "INSERT OR IGNORE INTO stream_index(stream_id, id) SELECT stream_id, id FROM records",
            "UPDATE stream_index_state SET indexed_through = (SELECT coalesce(max(id), 0) FROM records)",
        ])

    /// Version 5: how many records use each shape, counted once from the records
    /// (one pass), in place of the index of records by shape (`MessageShapes`).
    static let shapeUses = Upgrade(
        name: "shape uses",
        changes: ["DROP INDEX IF EXISTS records_by_shape"],
        backfill: [
            // REPLACE: the table is new in a format 4 file, but a file of this build marked older
            // (the upgrade tests make them so) has it already, and the counts are made again.
            "INSERT OR REPLACE INTO shape_uses(shape, records) SELECT id, 0 FROM shapes",
            """
            UPDATE shape_uses SET records = c.n FROM (
                SELECT shape, count(*) AS n FROM records WHERE shape IS NOT NULL GROUP BY shape) AS c
            WHERE c.shape = shape_uses.shape
            """,
        ])

    /// Version 4: the streams table made again with its output and the uniqueness
    /// over (output, group, stream), which SQLite cannot change in place. The ids
    /// and the id sequence are kept, so no record loses its stream and no pruned
    /// stream's id is given again. The rows come over without an output
    /// (`unassignedOutput`); `LegacyStreamAssignment` gives each its owner.
    static let streamOutputs = Upgrade(
        name: "stream outputs",
        changes: [
            streamsTable(named: "streams_v4"),
            """
            INSERT INTO streams_v4(id, output, output_name, log_group, log_stream, delivered_through,
                                   records, pending_records, pending_bytes, dead_letters, last_delivered_at)
            SELECT id, \(unassignedOutput), '', log_group, log_stream, delivered_through,
                   records, pending_records, pending_bytes, dead_letters, last_delivered_at FROM streams
            """,
            "DELETE FROM sqlite_sequence WHERE name = 'streams_v4'",
            "INSERT INTO sqlite_sequence(name, seq) SELECT 'streams_v4', seq FROM sqlite_sequence WHERE name = 'streams'",
            "DROP TABLE streams",
            "ALTER TABLE streams_v4 RENAME TO streams",
        ])

    /// The output of a stream row carried over from before version 4, until it is assigned.
    static let unassignedOutput = -1

    /// The streams table: one row per output, log group and stream. The counters are moved by
    /// `StreamCounters` in the transaction that changes what they count; `last_delivered_at`
    /// (Unix seconds) tells status and pruning when the stream was last delivered.
    static func streamsTable(named name: String) -> String {
        """
        CREATE TABLE IF NOT EXISTS \(name)(
            id INTEGER PRIMARY KEY AUTOINCREMENT,
            output INTEGER NOT NULL,
            output_name TEXT NOT NULL,
            log_group TEXT NOT NULL,
            log_stream TEXT NOT NULL,
            delivered_through INTEGER NOT NULL DEFAULT 0,
            records INTEGER NOT NULL DEFAULT 0,
            pending_records INTEGER NOT NULL DEFAULT 0,
            pending_bytes INTEGER NOT NULL DEFAULT 0,
            dead_letters INTEGER NOT NULL DEFAULT 0,
            last_delivered_at INTEGER,
            UNIQUE(output, log_group, log_stream))
        """
    }

    /// Version 3: the counters of `StreamCounters` and the last delivery, counted
    /// once from the records, dead letters and deliveries already there (one pass
    /// over each table, not one per stream).
    static let streamCounters = Upgrade(
        name: "stream counters",
        changes: [
            "ALTER TABLE streams ADD COLUMN records INTEGER NOT NULL DEFAULT 0",
            "ALTER TABLE streams ADD COLUMN pending_records INTEGER NOT NULL DEFAULT 0",
            "ALTER TABLE streams ADD COLUMN pending_bytes INTEGER NOT NULL DEFAULT 0",
            "ALTER TABLE streams ADD COLUMN dead_letters INTEGER NOT NULL DEFAULT 0",
            "ALTER TABLE streams ADD COLUMN last_delivered_at INTEGER",
        ],
        backfill: [
            """
            UPDATE streams SET records = c.records, pending_records = c.pending, pending_bytes = c.bytes FROM (
                SELECT r.stream_id AS id, count(*) AS records, sum(r.id > s.delivered_through) AS pending,
                       coalesce(sum(CASE WHEN r.id > s.delivered_through THEN \(messageLength(of: "r")) END), 0) AS bytes
                FROM records r JOIN streams s ON s.id = r.stream_id GROUP BY r.stream_id) AS c
            WHERE c.id = streams.id
            """,
            "UPDATE streams SET dead_letters = c.n FROM (SELECT stream_id AS id, count(*) AS n FROM dead_letters GROUP BY stream_id) AS c WHERE c.id = streams.id",
            "UPDATE streams SET last_delivered_at = c.at FROM (SELECT stream_id AS id, max(delivered_at) AS at FROM deliveries GROUP BY stream_id) AS c WHERE c.id = streams.id",
        ])

    /// A record's whole message, for a query over `records` aliased `alias`.
    static func message(of alias: String) -> String {
        """
        CASE WHEN \(alias).shape IS NULL THEN \(alias).message ELSE CAST(\
        (SELECT prefix FROM shapes WHERE id = \(alias).shape) || \(alias).message || (SELECT suffix FROM shapes WHERE id = \(alias).shape) \
        AS BLOB) END
        """
    }

    /// The length of a record's whole message, without putting it together.
    static func messageLength(of alias: String) -> String {
        "(length(\(alias).message) + coalesce((SELECT length(prefix) + length(suffix) FROM shapes WHERE id = \(alias).shape), 0))"
    }

    static let statements = [
        streamsTable(named: "streams"),
        """
        CREATE TABLE IF NOT EXISTS records(
            id INTEGER PRIMARY KEY AUTOINCREMENT,
            stream_id INTEGER NOT NULL,
            time_ns INTEGER NOT NULL,
            tag TEXT NOT NULL,
            message BLOB NOT NULL,
            chunk BLOB,
            shape INTEGER)
        """,
        // One row per delivered batch: what may be removed once the replay window has passed.
        """
        CREATE TABLE IF NOT EXISTS deliveries(
            id INTEGER PRIMARY KEY AUTOINCREMENT,
            stream_id INTEGER NOT NULL,
            through_id INTEGER NOT NULL,
            delivered_at INTEGER NOT NULL)
        """,
        """
        CREATE TABLE IF NOT EXISTS dead_letters(
            id INTEGER PRIMARY KEY AUTOINCREMENT,
            stream_id INTEGER NOT NULL,
            record_id INTEGER NOT NULL,
            time_ns INTEGER NOT NULL,
            tag TEXT NOT NULL,
            message BLOB NOT NULL,
            reason TEXT NOT NULL,
            created_at INTEGER NOT NULL)
        """,
        // What several records of a stream share; `last_id` is set once no later record will use it.
        """
        CREATE TABLE IF NOT EXISTS shapes(
            id INTEGER PRIMARY KEY AUTOINCREMENT,
            stream_id INTEGER NOT NULL,
            prefix BLOB NOT NULL,
            suffix BLOB NOT NULL,
            last_id INTEGER)
        """,
        // How many records use each shape: maintenance deletes a shape only when none does.
        "CREATE TABLE IF NOT EXISTS shape_uses(shape INTEGER PRIMARY KEY, records INTEGER NOT NULL)",
        // Acked pieces of lines Docker split, until the whole line is stored.
        """
        CREATE TABLE IF NOT EXISTS partial_pieces(
            id INTEGER PRIMARY KEY AUTOINCREMENT,
            line BLOB NOT NULL,
            ordinal INTEGER NOT NULL,
            piece BLOB NOT NULL)
        """,
        "CREATE INDEX IF NOT EXISTS partial_pieces_by_line ON partial_pieces(line)",
    ] + StreamIndex.statements + [
        // Damaged spools `shipper spool salvage` copied from: records of `source` up to `copied_through` are in.
        // Added in place (no version bump): files without it get it at the next open, older shippers ignore it.
        """
        CREATE TABLE IF NOT EXISTS salvage_sources(
            source TEXT PRIMARY KEY,
            file_name TEXT NOT NULL,
            copied_through INTEGER NOT NULL,
            salvaged_at INTEGER NOT NULL)
        """,
    ]
}
