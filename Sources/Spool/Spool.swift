import Foundation
import CSQLite

/// The durable buffer between ingest and delivery: a SQLite database in WAL mode.
///
/// Everything ingest hands over is committed here before a client is acked,
/// and stays here until CloudWatch has accepted it. One writer thread does
/// all inserts (group commit); delivery reads and advances per-stream cursors
/// on a second connection, which WAL lets run beside the writer.
public final class Spool: @unchecked Sendable {
    public struct Configuration: Sendable {
        public var path: String
        public var sync: SpoolSyncMode
        /// How many bytes of records may wait for the writer before appends block.
        public var maxQueuedBytes: Int

        public init(path: String, sync: SpoolSyncMode = .full, maxQueuedBytes: Int = 8 << 20) {
            self.path = path
            self.sync = sync
            self.maxQueuedBytes = maxQueuedBytes
        }
    }

    public let configuration: Configuration
    private let writer: SpoolWriter
    private let writerDatabase: SQLiteDatabase
    private let readerDatabase: SQLiteDatabase
    private let readerLock = NSLock()
    private let commitObservers = CommitObservers()

    public init(configuration: Configuration) throws {
        self.configuration = configuration
        do {
            try OwnerOnlyFile.create(at: configuration.path)
            writerDatabase = try SQLiteDatabase(path: configuration.path)
            try writerDatabase.execute("PRAGMA journal_mode = WAL")
            try writerDatabase.execute("PRAGMA synchronous = \(configuration.sync == .full ? "FULL" : "NORMAL")")
            for statement in SpoolSchema.statements { try writerDatabase.execute(statement) }
            readerDatabase = try SQLiteDatabase(path: configuration.path)
            let observers = commitObservers
            writer = try SpoolWriter(database: writerDatabase, maxQueuedBytes: configuration.maxQueuedBytes) {
                observers.notify()
            }
        } catch let error as SQLiteError {
            throw SpoolError.database(error)
        }
    }

    /// Stores `records`. With `durable`, returns only after they are committed,
    /// so the caller may acknowledge them; throws if they could not be stored.
    public func append(_ records: [SpoolRecord], durable: Bool) throws {
        try writer.append(records, durable: durable)
    }

    /// Calls `observer` after every commit (on the writer thread: keep it short).
    public func onCommit(_ observer: @escaping @Sendable () -> Void) {
        commitObservers.add(observer)
    }

    /// The streams that have records not yet delivered.
    public func streamsWithPendingRecords() throws -> [SpoolStream] {
        try read { db in
            let statement = try db.prepare("""
                SELECT s.id, s.log_group, s.log_stream, s.delivered_through FROM streams s
                WHERE EXISTS (SELECT 1 FROM records r WHERE r.stream_id = s.id AND r.id > s.delivered_through)
                """)
            var streams: [SpoolStream] = []
            while try statement.step() {
                streams.append(SpoolStream(id: statement.int64(0), logGroup: statement.text(1),
                                           logStream: statement.text(2), deliveredThrough: statement.int64(3)))
            }
            return streams
        }
    }

    /// Up to `limit` undelivered records of one stream, oldest first.
    public func undelivered(stream: Int64, limit: Int) throws -> [StoredRecord] {
        try read { db in
            let statement = try db.prepare("""
                SELECT r.id, r.time_ns, r.message FROM records r
                WHERE r.stream_id = ?1 AND r.id > (SELECT delivered_through FROM streams WHERE id = ?1)
                ORDER BY r.id LIMIT ?2
                """)
            try statement.bind(1, stream)
            try statement.bind(2, Int64(limit))
            var records: [StoredRecord] = []
            records.reserveCapacity(min(limit, 10_000))
            while try statement.step() {
                records.append(StoredRecord(id: statement.int64(0), timeNanoseconds: statement.int64(1), message: statement.blob(2)))
            }
            return records
        }
    }

    /// Records that the service accepted every record of `stream` up to `id`,
    /// and removes them, in one transaction.
    public func markDelivered(stream: Int64, through id: Int64) throws {
        try read { db in
            try db.transaction {
                let advance = try db.prepare("UPDATE streams SET delivered_through = max(delivered_through, ?2) WHERE id = ?1")
                try advance.bind(1, stream)
                try advance.bind(2, id)
                try advance.step()
                let remove = try db.prepare("DELETE FROM records WHERE stream_id = ?1 AND id <= ?2")
                try remove.bind(1, stream)
                try remove.bind(2, id)
                try remove.step()
            }
        }
    }

    /// Counts every record still in the spool, delivered or not.
    public func recordCount() throws -> Int {
        try read { db in
            let statement = try db.prepare("SELECT count(*) FROM records")
            try statement.step()
            return Int(statement.int64(0))
        }
    }

    /// Commits what is queued and closes the files. Nothing is deleted.
    public func close() {
        writer.close()
        readerLock.lock()
        defer { readerLock.unlock() }
        readerDatabase.close()
        writerDatabase.close()
    }

    private func read<T>(_ body: (SQLiteDatabase) throws -> T) throws -> T {
        readerLock.lock()
        defer { readerLock.unlock() }
        do {
            return try body(readerDatabase)
        } catch let error as SQLiteError {
            throw SpoolError.database(error)
        }
    }
}

/// The callbacks to run after each commit.
private final class CommitObservers: @unchecked Sendable {
    private let lock = NSLock()
    private var observers: [@Sendable () -> Void] = []

    func add(_ observer: @escaping @Sendable () -> Void) {
        lock.lock()
        observers.append(observer)
        lock.unlock()
    }

    func notify() {
        lock.lock()
        let current = observers
        lock.unlock()
        for observer in current { observer() }
    }
}
