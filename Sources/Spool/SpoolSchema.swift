/// The spool's tables.
///
/// `AUTOINCREMENT` matters: with a plain rowid SQLite reuses ids once the
/// table empties, and a cursor that reads `id > delivered_through` would skip
/// the new rows for good.
enum SpoolSchema {
    static let version: Int64 = 1

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
            chunk BLOB)
        """,
        "CREATE INDEX IF NOT EXISTS records_by_stream ON records(stream_id, id)",
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
        // Acked pieces of lines Docker split, until the whole line is stored.
        """
        CREATE TABLE IF NOT EXISTS partial_pieces(
            id INTEGER PRIMARY KEY AUTOINCREMENT,
            line BLOB NOT NULL,
            ordinal INTEGER NOT NULL,
            piece BLOB NOT NULL)
        """,
        "CREATE INDEX IF NOT EXISTS partial_pieces_by_line ON partial_pieces(line)",
    ]
}
