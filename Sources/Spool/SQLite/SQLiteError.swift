/// A failed SQLite call, with the operation and SQL text it belongs to.
public struct SQLiteError: Error, CustomStringConvertible {
    /// The SQLite result code (`SQLITE_FULL` is 13, `SQLITE_CORRUPT` 11, ...), extended
    /// (`SQLITE_IOERR_FSYNC` is 1034, `SQLITE_IOERR_WRITE` 778).
    public let code: Int32
    public let message: String
    public let context: String
    /// The operating system's error code behind an I/O failure (errno such as `EIO`; a
    /// GetLastError code on Windows), 0 when there is none.
    public var osErrorCode: Int32 = 0

    public var description: String {
        let system = osErrorCode == 0 ? "" : ", OS error \(osErrorCode)"
        return "\(context): \(message) (SQLite code \(code)\(system))"
    }

    /// The disk (or the database's size limit) is full; the write can be retried later.
    public var isDiskFull: Bool { code & 0xff == 13 }

    /// The result codes whose cause is a failed system call: only then does an OS error code belong to the error.
    static func hasOSError(_ code: Int32) -> Bool {
        [10, 14].contains(code & 0xff)  // SQLITE_IOERR, SQLITE_CANTOPEN
    }
}
