/// Finds or makes a destination's row in `streams`, the one way every writer
/// of records (the spool's writer, salvage) gets a stream id. Another process
/// may have made the row meanwhile: the insert does nothing then, and the
/// select finds it. Callers keep their own cache of the ids.
final class StreamRows {
    private let insert: SQLiteStatement
    private let select: SQLiteStatement

    init(database: SQLiteDatabase) throws {
        insert = try database.prepare("INSERT INTO streams(log_group, log_stream) VALUES(?, ?) ON CONFLICT DO NOTHING")
        select = try database.prepare("SELECT id FROM streams WHERE log_group = ? AND log_stream = ?")
    }

    /// The id of `group`/`stream`, inside the caller's open transaction.
    func id(group: String, stream: String) throws -> Int64 {
        defer {
            insert.reset()
            select.reset()
        }
        try insert.bind(1, group)
        try insert.bind(2, stream)
        try insert.step()
        try select.bind(1, group)
        try select.bind(2, stream)
        guard try select.step() else {
            throw SQLiteError(code: 1, message: "stream row missing after insert", context: "resolving \(group)/\(stream)")
        }
        return select.int64(0)
    }
}
