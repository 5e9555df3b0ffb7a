import Foundation
import Logging

/// The durable buffer between ingest and delivery: a SQLite database in WAL mode.
///
/// Everything ingest hands over is committed here before a client is acked,
/// and stays here until CloudWatch has accepted it (then for the replay
/// window). One writer thread does all inserts (group commit); delivery reads
/// and advances per-stream cursors on a second connection, and housekeeping
/// runs on a third, which WAL lets run beside the writer.
public final class Spool: @unchecked Sendable {
    public struct Configuration: Sendable {
        public var path: String
        public var sync: SpoolSyncMode
        /// How many bytes of records may wait for the writer before appends block.
        /// The batch being committed no longer counts, so connections fill the
        /// next one while the writer waits for its fsync: at most twice this is held.
        public var maxQueuedBytes: Int
        /// `storage.total_limit_size`: intake pauses at this size (nil: only the disk limits it).
        public var totalLimitBytes: Int64?
        /// `storage.keep_delivered`: how long delivered records stay for `shipper replay`.
        public var keepDelivered: TimeInterval
        /// `storage.on_corruption`.
        public var onCorruption: SpoolCorruptionPolicy
        /// How many recent chunk ids are remembered to recognise resent frames.
        /// Docker has one frame in flight per container, so thousands are plenty.
        public var recentChunkCapacity: Int

        public init(path: String, sync: SpoolSyncMode = .full, maxQueuedBytes: Int = 1 << 20, totalLimitBytes: Int64? = nil,
                    keepDelivered: TimeInterval = 3600, onCorruption: SpoolCorruptionPolicy = .moveAside, recentChunkCapacity: Int = 16_384) {
            self.path = path
            self.sync = sync
            self.maxQueuedBytes = maxQueuedBytes
            self.totalLimitBytes = totalLimitBytes
            self.keepDelivered = keepDelivered
            self.onCorruption = onCorruption
            self.recentChunkCapacity = recentChunkCapacity
        }
    }

    public let configuration: Configuration
    private let logger: Logger
    private let pressure: SpoolPressure
    private let writer: SpoolWriter
    private let maintenance: SpoolMaintenance
    private let writerDatabase: SQLiteDatabase
    private let readerDatabase: SQLiteDatabase
    private let maintenanceDatabase: SQLiteDatabase
    private let readerLock = NSLock()

    public init(configuration: Configuration, logger: Logger = Logger(label: "spool")) throws {
        self.configuration = configuration
        self.logger = logger
        do {
            writerDatabase = try SpoolFile.open(path: configuration.path, sync: configuration.sync, onCorruption: configuration.onCorruption, logger: logger)
            readerDatabase = try SQLiteDatabase(path: configuration.path)
            maintenanceDatabase = try SQLiteDatabase(path: configuration.path)
            pressure = SpoolPressure { reason in
                if let reason {
                    logger.warning("backpressure on: ingest paused, clients keep their records until there is room", metadata: ["reason": "\(reason.rawValue)"])
                } else {
                    logger.info("backpressure off: ingest resumed")
                }
            }
            let maintenance = SpoolMaintenance(
                database: maintenanceDatabase, pressure: pressure,
                limits: .init(keepDelivered: configuration.keepDelivered, totalLimitBytes: configuration.totalLimitBytes), logger: logger)
            self.maintenance = maintenance
            var watchSize: (@Sendable (Int64) -> Void)?
            if configuration.totalLimitBytes != nil {
                watchSize = { used in maintenance.observe(usedBytes: used) }
            }
            writer = try SpoolWriter(
                database: writerDatabase, pressure: pressure, maxQueuedBytes: configuration.maxQueuedBytes,
                recentChunkCapacity: configuration.recentChunkCapacity,
                afterCommit: watchSize,
                onDiskFull: { error in
                    logger.error("disk full: holding the records and retrying", metadata: ["error": "\(error)"])
                    maintenance.wake()
                },
                logger: logger)
        } catch let error as SQLiteError {
            throw SpoolError.database(error)
        }
    }

    /// Stores the frames' records. With `durable`, returns only after they are
    /// committed, so the caller may acknowledge them; throws if they could not
    /// be stored. A frame whose chunk id was committed before is not stored
    /// again. Blocks while the spool is over its limit.
    public func append(_ appends: [SpoolAppend], durable: Bool) throws {
        try writer.append(appends, durable: durable)
    }

    /// Stores the frames' records and returns at once; `whenCommitted` runs (on
    /// the writer thread: keep it short) once they are committed, or with the
    /// error if they could not be. Blocks while the spool is over its limit.
    public func append(_ appends: [SpoolAppend], whenCommitted: @escaping @Sendable (Result<Void, Error>) -> Void) throws {
        try writer.append(appends, completion: whenCommitted)
    }

    /// Whether a frame with this chunk id is already committed: a client that
    /// missed the ack is sending it again.
    public func hasCommitted(chunk: [UInt8]) -> Bool {
        writer.hasCommitted(chunk)
    }

    /// Why intake is paused, or nil when it is not.
    public var backpressureReason: String? { pressure.current?.rawValue }

    /// Frames that arrived again after being committed, and were acked without a second copy.
    public var duplicateFrames: Int { writer.duplicateChunks }

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

    /// Up to `limit` undelivered records of one stream, oldest first, and no
    /// more once their messages reach `maxBytes`: a batch can hold no more than
    /// that, and reading ten thousand large records to send a thousand would
    /// cost the shipper megabytes of memory on every call.
    public func undelivered(stream: Int64, limit: Int, maxBytes: Int = .max) throws -> [StoredRecord] {
        try read { db in
            let statement = try db.prepare("""
                SELECT r.id, r.time_ns, \(SpoolSchema.message(of: "r")) FROM records r
                WHERE r.stream_id = ?1 AND r.id > (SELECT delivered_through FROM streams WHERE id = ?1)
                ORDER BY r.id LIMIT ?2
                """)
            try statement.bind(1, stream)
            try statement.bind(2, Int64(limit))
            var records: [StoredRecord] = []
            records.reserveCapacity(min(limit, 10_000))
            var bytes = 0
            while bytes < maxBytes, try statement.step() {
                let record = StoredRecord(id: statement.int64(0), timeNanoseconds: statement.int64(1), message: statement.blob(2))
                bytes += record.message.count
                records.append(record)
            }
            return records
        }
    }

    /// Records, in one transaction, that the service accepted every record of
    /// `stream` up to `id`, except `deadLetters`, which it refused for good and
    /// which are copied to the dead-letter table with their reason. Delivered
    /// records stay for the replay window.
    public func markDelivered(stream: Int64, through id: Int64, deadLetters: [DeadLetter] = []) throws {
        try read { db in
            try db.transaction {
                let now = Int64(Date().timeIntervalSince1970)
                if !deadLetters.isEmpty {
                    let copy = try db.prepare("""
                        INSERT INTO dead_letters(stream_id, record_id, time_ns, tag, message, reason, created_at)
                        SELECT r.stream_id, r.id, r.time_ns, r.tag, \(SpoolSchema.message(of: "r")), ?2, ?3 FROM records r WHERE r.id = ?1
                        """)
                    for letter in deadLetters {
                        copy.reset()
                        try copy.bind(1, letter.recordID)
                        try copy.bind(2, letter.reason)
                        try copy.bind(3, now)
                        try copy.step()
                    }
                }
                let advance = try db.prepare("UPDATE streams SET delivered_through = max(delivered_through, ?2) WHERE id = ?1")
                try advance.bind(1, stream)
                try advance.bind(2, id)
                try advance.step()
                let delivery = try db.prepare("INSERT INTO deliveries(stream_id, through_id, delivered_at) VALUES(?, ?, ?)")
                try delivery.bind(1, stream)
                try delivery.bind(2, id)
                try delivery.bind(3, now)
                try delivery.step()
            }
        }
    }

    /// The pieces of split lines that were acked but whose line is not whole yet (read at start-up).
    public func stagedPieces() throws -> [SpoolStagedPiece] {
        try read { db in
            let statement = try db.prepare("SELECT line, ordinal, piece FROM partial_pieces ORDER BY id")
            var pieces: [SpoolStagedPiece] = []
            while try statement.step() {
                pieces.append(SpoolStagedPiece(key: statement.blob(0), ordinal: Int(statement.int64(1)), bytes: statement.blob(2)))
            }
            return pieces
        }
    }

    /// Counts every record still in the spool, delivered or not.
    public func recordCount() throws -> Int {
        try read { db in Int(try db.integer("SELECT count(*) FROM records")) }
    }

    /// Counts the dead letters.
    public func deadLetterCount() throws -> Int {
        try read { db in Int(try db.integer("SELECT count(*) FROM dead_letters")) }
    }

    /// Runs one housekeeping pass now (retention, limit, checkpoint); tests and tools use it.
    public func runMaintenance() {
        maintenance.pass()
    }

    /// Commits what is queued and closes the files. Nothing is deleted.
    public func close() {
        writer.close()
        maintenance.stop()
        readerLock.lock()
        defer { readerLock.unlock() }
        readerDatabase.close()
        maintenanceDatabase.close()
        writerDatabase.close()
    }

    private func read<T>(_ body: (SQLiteDatabase) throws -> T) throws -> T {
        readerLock.lock()
        defer { readerLock.unlock() }
        do {
            return try body(readerDatabase)
        } catch let error as SQLiteError {
            if error.isCorruption {
                // Ask the next start for a full check (and a fresh spool if it fails).
                FileManager.default.createFile(atPath: SpoolFile.markerPath(configuration.path), contents: Data(error.description.utf8))
                logger.critical("spool read hit damaged data; the next start checks it in full", metadata: ["error": "\(error)"])
            }
            throw SpoolError.database(error)
        }
    }
}
