/// A failed SQLite call, with the operation and SQL text it belongs to.
public struct SQLiteError: Error, CustomStringConvertible {
    /// The SQLite result code (`SQLITE_FULL` is 13, `SQLITE_CORRUPT` 11, ...).
    public let code: Int32
    public let message: String
    public let context: String

    public var description: String { "\(context): \(message) (SQLite code \(code))" }

    /// The disk (or the database's size limit) is full; the write can be retried later.
    public var isDiskFull: Bool { code & 0xff == 13 }
}
