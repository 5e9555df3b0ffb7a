import CSQLite

/// One SQLite connection.
///
/// Not thread-safe by itself: the spool gives each connection to one owner
/// (the writer thread, or readers behind a lock).
final class SQLiteDatabase {
    private(set) var handle: OpaquePointer?
    let path: String

    /// Process-wide SQLite settings, applied once before the first connection.
    private static let configured: Bool = {
        csqlite_disable_memory_statistics() == SQLITE_OK && SQLiteOSError.install()
    }()

    convenience init(path: String, create: Bool = true) throws {
        try self.init(path: path, flags: create ? (SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE) : SQLITE_OPEN_READWRITE)
    }

    /// Opens or creates `path` for a connection that will run `PRAGMA synchronous = FULL`
    /// and nothing less, its WAL writes gathered into one per commit (`CoalescedWALWrites`).
    convenience init(syncingEveryCommit path: String) throws {
        try self.init(path: path, flags: SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE, coalescingWALWrites: true)
        try execute("PRAGMA synchronous = FULL")
    }

    /// Opens `path` without ever writing to it, for a file that must stay as it
    /// is (a damaged spool). To read a WAL-mode file SQLite may create an empty `-wal` and the
    /// `-shm` index beside it.
    convenience init(readingOnly path: String) throws {
        try self.init(path: path, flags: SQLITE_OPEN_READONLY)
    }

    private init(path: String, flags: Int32, coalescingWALWrites: Bool = false) throws {
        // Before anything else starts SQLite (the VFS looks up the platform's): its settings must come first.
        _ = Self.configured
        self.path = path
        var db: OpaquePointer?
        let vfs = coalescingWALWrites && CoalescedWALWrites.isRegistered ? CoalescedWALWrites.vfsName : nil
        let status = sqlite3_open_v2(path, &db, flags | SQLITE_OPEN_NOMUTEX, vfs)
        handle = db
        guard status == SQLITE_OK else {
            let message = db.map { String(cString: sqlite3_errmsg($0)) } ?? "out of memory"
            sqlite3_close_v2(db)
            handle = nil
            throw SQLiteError(code: status, message: message, context: "opening \(path)")
        }
        sqlite3_busy_timeout(db, 10_000)
        sqlite3_extended_result_codes(db, 1)
    }

    deinit {
        close()
    }

    func close() {
        scalarStatements.removeAll()
        if let handle { sqlite3_close_v2(handle) }
        handle = nil
    }

    func execute(_ sql: String) throws {
        var errorMessage: UnsafeMutablePointer<CChar>?
        let status = sqlite3_exec(handle, sql, nil, nil, &errorMessage)
        if status != SQLITE_OK {
            let message = errorMessage.map { String(cString: $0) } ?? "unknown error"
            sqlite3_free(errorMessage)
            throw SQLiteError(code: status, message: message, context: sql, osErrorCode: osErrorCode(for: status))
        }
    }

    func prepare(_ sql: String) throws -> SQLiteStatement {
        try SQLiteStatement(database: self, sql: sql)
    }

    /// Runs `body` in one transaction: committed if it returns, rolled back if it throws.
    /// BEGIN and COMMIT are prepared once: the writer runs a transaction per group commit.
    func transaction<T>(_ body: () throws -> T) throws -> T {
        try cached("BEGIN IMMEDIATE")
        do {
            let result = try body()
            try cached("COMMIT")
            return result
        } catch {
            try? cached("ROLLBACK")
            throw error
        }
    }

    /// Runs a statement without results, keeping it prepared for the next time.
    private func cached(_ sql: String) throws {
        let statement = try preparedOnce(sql)
        defer { statement.reset() }
        try statement.step()
    }

    /// The first column of the first row of `sql`, as an integer (0 when there is no row).
    /// The statement is kept for the next call: some of these run after every commit.
    func integer(_ sql: String) throws -> Int64 {
        let statement = try preparedOnce(sql)
        defer { statement.reset() }
        return try statement.step() ? statement.int64(0) : 0
    }

    /// The statement for `sql`, prepared on first use and kept.
    private func preparedOnce(_ sql: String) throws -> SQLiteStatement {
        if let statement = scalarStatements[sql] { return statement }
        let statement = try prepare(sql)
        scalarStatements[sql] = statement
        return statement
    }

    private var scalarStatements: [String: SQLiteStatement] = [:]

    /// Bytes the database's live pages take; free pages left by deletions are
    /// reused before the file grows, so they do not count.
    func usedBytes() throws -> Int64 {
        try pageUsage().usedBytes
    }

    /// The bytes of live pages, and of free pages (which SQLite fills before it
    /// grows the file), from one read of the header. The writer asks at the end
    /// of every transaction, inside it: the answer is what the commit leaves,
    /// without a read transaction of its own. Two plain `PRAGMA` statements:
    /// SQLite compiles each again on every run all the same (every PRAGMA
    /// program runs once, `sqlite3VdbeRunOnlyOnce`), but the table-valued
    /// `pragma_page_count()` does that and more, three to four times the cost
    /// (measured in C: 7.6-12.5 against 2.1-5.1 µs a call). Even so they are
    /// 3.5% of the writer's time with one commit per pass of acked frames.
    func pageUsage() throws -> (usedBytes: Int64, freeBytes: Int64) {
        if pageSize == 0 { pageSize = try integer("PRAGMA page_size") }
        let pages = try integer("PRAGMA page_count"), free = try integer("PRAGMA freelist_count")
        return ((pages - free) * pageSize, free * pageSize)
    }

    /// Fixed once the database exists (the spool never changes it).
    private var pageSize: Int64 = 0

    /// Rows changed by the last INSERT, UPDATE or DELETE.
    var changes: Int { Int(sqlite3_changes(handle)) }

    /// The rowid of the last row this connection inserted.
    var lastInsertRowID: Int64 { sqlite3_last_insert_rowid(handle) }

    var lastErrorMessage: String { handle.map { String(cString: sqlite3_errmsg($0)) } ?? "closed" }

    /// The OS error code of the system call behind a failure with `status` (errno; GetLastError
    /// on Windows), so an I/O error is logged with its cause; 0 for other failures, and for the
    /// failures SQLite does not log (a failed write: its SQLite code, 778, says what failed).
    func osErrorCode(for status: Int32) -> Int32 {
        let code = SQLiteOSError.take()
        return SQLiteError.hasOSError(status) ? code : 0
    }
}
