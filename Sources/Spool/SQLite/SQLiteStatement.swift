import CSQLite

/// A prepared statement, reused across executions to keep the hot path free of SQL parsing.
final class SQLiteStatement {
    private var handle: OpaquePointer?
    private let database: SQLiteDatabase
    let sql: String

    init(database: SQLiteDatabase, sql: String) throws {
        self.database = database
        self.sql = sql
        let status = sqlite3_prepare_v3(database.handle, sql, -1, UInt32(SQLITE_PREPARE_PERSISTENT), &handle, nil)
        guard status == SQLITE_OK else {
            throw SQLiteError(code: status, message: database.lastErrorMessage, context: "preparing \(sql)")
        }
    }

    deinit {
        sqlite3_finalize(handle)
    }

    func bind(_ index: Int32, _ value: Int64) throws {
        try check(sqlite3_bind_int64(handle, index, value), "binding parameter \(index)")
    }

    func bind(_ index: Int32, _ value: String) throws {
        try check(sqlite3_bind_text(handle, index, value, -1, csqlite_transient()), "binding parameter \(index)")
    }

    func bind(_ index: Int32, _ value: [UInt8]) throws {
        let status = value.withUnsafeBytes { raw in
            sqlite3_bind_blob(handle, index, raw.baseAddress, Int32(raw.count), csqlite_transient())
        }
        try check(status, "binding parameter \(index)")
    }

    /// Binds bytes where they lie, without SQLite copying them. The caller keeps
    /// them valid until the statement is reset.
    func bind(_ index: Int32, unsafeBlob bytes: UnsafeRawBufferPointer) throws {
        let status = bytes.isEmpty
            ? sqlite3_bind_zeroblob(handle, index, 0)
            : sqlite3_bind_blob(handle, index, bytes.baseAddress, Int32(bytes.count), nil)
        try check(status, "binding parameter \(index)")
    }

    /// Binds UTF-8 text where it lies, as `bind(_:unsafeBlob:)`.
    func bind(_ index: Int32, unsafeText utf8: UnsafeRawBufferPointer) throws {
        let status = utf8.isEmpty
            ? sqlite3_bind_text(handle, index, "", 0, csqlite_transient())
            : sqlite3_bind_text(handle, index, utf8.baseAddress?.assumingMemoryBound(to: CChar.self), Int32(utf8.count), nil)
        try check(status, "binding parameter \(index)")
    }

    /// Steps once; `true` when a row is available.
    @discardableResult
    func step() throws -> Bool {
        let status = sqlite3_step(handle)
        switch status {
        case SQLITE_ROW: return true
        case SQLITE_DONE: return false
        default: throw SQLiteError(code: status, message: database.lastErrorMessage, context: "running \(sql)", osErrorCode: database.osErrorCode(for: status))
        }
    }

    func reset() {
        sqlite3_reset(handle)
        sqlite3_clear_bindings(handle)
    }

    func bindNull(_ index: Int32) throws {
        try check(sqlite3_bind_null(handle, index), "binding parameter \(index)")
    }

    func isNull(_ column: Int32) -> Bool {
        sqlite3_column_type(handle, column) == SQLITE_NULL
    }

    func int64(_ column: Int32) -> Int64 {
        sqlite3_column_int64(handle, column)
    }

    func text(_ column: Int32) -> String {
        guard let pointer = sqlite3_column_text(handle, column) else { return "" }
        return String(cString: pointer)
    }

    func blob(_ column: Int32) -> [UInt8] {
        let count = Int(sqlite3_column_bytes(handle, column))
        guard count > 0, let pointer = sqlite3_column_blob(handle, column) else { return [] }
        return Array(UnsafeRawBufferPointer(start: pointer, count: count))
    }

    /// The message is built only on failure: this runs for every bound value on the hot path.
    private func check(_ status: Int32, _ what: @autoclosure () -> String) throws {
        guard status == SQLITE_OK else {
            throw SQLiteError(code: status, message: database.lastErrorMessage, context: "\(what()) of \(sql)")
        }
    }
}
