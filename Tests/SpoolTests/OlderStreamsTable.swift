import Foundation
@testable import Spool

/// The streams table as an older format wrote it, put in place of the current
/// one with the ids and the id sequence kept, for the upgrade tests.
enum OlderStreamsTable {
    /// Formats 1 and 2: a stream was its log group, log stream and cursor.
    static let format2 = ["log_group TEXT NOT NULL", "log_stream TEXT NOT NULL", "delivered_through INTEGER NOT NULL DEFAULT 0"]
    /// Format 3 added the counters.
    static let format3 = format2 + [
        "records INTEGER NOT NULL DEFAULT 0", "pending_records INTEGER NOT NULL DEFAULT 0", "pending_bytes INTEGER NOT NULL DEFAULT 0",
        "dead_letters INTEGER NOT NULL DEFAULT 0", "last_delivered_at INTEGER",
    ]

    /// Makes `file` a spool of `version` whose streams have `columns` (unique over group and stream);
    /// `streamSequence`, when given, becomes the streams' id sequence, as after pruned streams.
    static func rebuild(_ file: String, version: Int, columns: [String], streamSequence: Int64? = nil) throws {
        let names = (["id"] + columns.map { String($0.prefix { $0 != " " }) }).joined(separator: ", ")
        let old = try SQLiteDatabase(path: file, create: false)
        defer { old.close() }
        try old.transaction {
            try old.execute("""
                CREATE TABLE streams_old(id INTEGER PRIMARY KEY AUTOINCREMENT, \(columns.joined(separator: ", ")), UNIQUE(log_group, log_stream))
                """)
            try old.execute("INSERT INTO streams_old(\(names)) SELECT \(names) FROM streams")
            try old.execute("DROP TABLE streams")
            try old.execute("ALTER TABLE streams_old RENAME TO streams")
            if let streamSequence { try old.execute("UPDATE sqlite_sequence SET seq = \(streamSequence) WHERE name = 'streams'") }
            try old.execute("PRAGMA user_version = \(version)")
        }
    }
}
