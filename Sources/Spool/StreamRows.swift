/// Finds or makes a destination's row in `streams`, the one way every writer
/// of records (the spool's writer, salvage) gets a stream id. Another process
/// may have made the row meanwhile: the insert does nothing then, and the
/// select finds it. A stream is its output's index, group and stream; an
/// output the config renamed gets its new name on the row. Callers keep their
/// own cache of the ids.
final class StreamRows {
    private let database: SQLiteDatabase
    private let insert: SQLiteStatement
    private let select: SQLiteStatement
    private let rename: SQLiteStatement

    init(database: SQLiteDatabase) throws {
        self.database = database
        insert = try database.prepare("INSERT INTO streams(output, output_name, log_group, log_stream) VALUES(?, ?, ?, ?) ON CONFLICT DO NOTHING")
        select = try database.prepare("SELECT id, output_name FROM streams WHERE output = ? AND log_group = ? AND log_stream = ?")
        rename = try database.prepare("UPDATE streams SET output_name = ? WHERE id = ?")
    }

    /// The id of `output`'s `group`/`stream`, inside the caller's open transaction;
    /// `made` tells whether this call inserted the row (it goes if the transaction rolls back).
    func id(output: SpoolOutput, group: String, stream: String) throws -> (id: Int64, made: Bool) {
        defer {
            insert.reset()
            select.reset()
            rename.reset()
        }
        try insert.bind(1, Int64(output.index))
        try insert.bind(2, output.name)
        try insert.bind(3, group)
        try insert.bind(4, stream)
        try insert.step()
        let made = database.changes > 0
        try select.bind(1, Int64(output.index))
        try select.bind(2, group)
        try select.bind(3, stream)
        guard try select.step() else {
            throw SQLiteError(code: 1, message: "stream row missing after insert", context: "resolving \(output.name) \(group)/\(stream)")
        }
        let id = select.int64(0)
        if select.text(1) != output.name {
            try rename.bind(1, output.name)
            try rename.bind(2, id)
            try rename.step()
        }
        return (id, made)
    }
}
