/// The spool's tables.
///
/// `AUTOINCREMENT` matters: with a plain rowid SQLite reuses ids once the
/// table empties, and a cursor that reads `id > delivered_through` would skip
/// the new rows for good.
///
/// Version 2 added shapes (`MessageShapes`): a record whose message starts
/// and ends like others of its stream stores only its middle and the id of
/// the shape holding the rest. Version 1 files are upgraded in place (the
/// `shape` column is added, NULL: whole messages).
enum SpoolSchema {
    static let version: Int64 = 2

    /// Statements that bring a file of `version` (the key) up to the next version.
    static let upgrades: [Int64: [String]] = [
        1: ["ALTER TABLE records ADD COLUMN shape INTEGER"],
    ]

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
        """
        CREATE TABLE IF NOT EXISTS streams(
            id INTEGER PRIMARY KEY AUTOINCREMENT,
            log_group TEXT NOT NULL,
            log_stream TEXT NOT NULL,
            delivered_through INTEGER NOT NULL DEFAULT 0,
            UNIQUE(log_group, log_stream))
        """,
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
        "CREATE INDEX IF NOT EXISTS records_by_stream ON records(stream_id, id)",
        // Which records use a shape: maintenance deletes a shape only when none does.
        "CREATE INDEX IF NOT EXISTS records_by_shape ON records(shape) WHERE shape IS NOT NULL",
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
        // Acked pieces of lines Docker split, until the whole line is stored.
        """
        CREATE TABLE IF NOT EXISTS partial_pieces(
            id INTEGER PRIMARY KEY AUTOINCREMENT,
            line BLOB NOT NULL,
            ordinal INTEGER NOT NULL,
            piece BLOB NOT NULL)
        """,
        "CREATE INDEX IF NOT EXISTS partial_pieces_by_line ON partial_pieces(line)",
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
