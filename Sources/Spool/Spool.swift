import Foundation
import Logging

/// The durable buffer between ingest and delivery: a SQLite database in WAL mode.
///
/// Everything ingest hands over is committed here before a client is acked,
/// and stays here until CloudWatch has accepted it (then for the replay
/// window). One writer thread does all inserts (group commit); delivery reads
/// and advances per-stream cursors on a second connection, and housekeeping
/// runs on a third, which WAL lets run beside the writer.
///
/// The invariants the rest of the product relies on, with the tests that prove each:
/// 1. An append that asked for durability returns only after its transaction
///    committed; a failed commit (I/O error, stop) returns an error, never success.
///    Under `storage.sync full` the writer's WAL writes are gathered until the commit's
///    sync (`CoalescedWALWrites`), which writes them first.
///    (`testDurableAppendIsReadableInOrderAndDeliveryAdvancesTheCursor`,
///    `testConcurrentDurableAppendsAreAllCommitted`, `IOErrorTests`, `CoalescedWALWritesTests`.)
/// 2. Record ids are never reused (`AUTOINCREMENT`), so a cursor `id > delivered_through`
///    never skips a record. (`testIDsAreNeverReusedAfterTheTableEmpties`.)
/// 3. A stream's cursor moves only after CloudWatch accepted everything up to it (or
///    refused it for good, into dead letters), so at most the one batch per stream in
///    flight is sent again after a crash. (`testTheCursorMovesOnlyOnceABatchIsMarkedDeliveredSoAnUnmarkedOneIsReadAgainAfterAReopen`,
///    `testRefusedRecordsMoveToDeadLettersWithTheirReason`, `CrashTests`.)
/// 4. Undelivered records are never evicted; delivered ones go after the replay window,
///    or sooner only under backpressure. (`testUndeliveredRecordsAreNeverEvictedToMakeRoom`,
///    `testDeliveredRecordsStayForTheReplayWindowThenGo`.)
/// 5. A frame whose chunk id was committed is not stored again, across restarts.
///    (`testAResentChunkIsStoredOnceEvenAfterARestart`.)
/// 6. A shape is deleted only when no record refers to it (its count in `shape_uses` moves in
///    the transaction that stores or deletes its records), a writer never stores a record with
///    a shape deleted under it, and a record missing its shape is spool damage, never a message
///    without its ends. (`testAClosedShapeStaysWhileAnyRecordStillUsesIt`, `testAShapeDeletedUnderTheWriterIsNotUsedAgain`,
///    `testARecordWhoseShapeIsMissingIsReportedAndDeadLettered`.)
/// 7. One process writes a spool at a time (`<spool>.lock`); readers need no lock.
///    (`testASecondSpoolOnTheSameFileIsRefusedWithTheHoldersProcessID`, `testReadersNeedNoLock`.)
/// 8. Intake pauses, and never drops, at `storage.total_limit_size` or below `storage.disk_reserve`;
///    delivery bookkeeping works on a full disk (`DiskBudget`).
///    (`testOverTheLimitIntakePausesUntilDeliveredRecordsAreEvicted`, `FullDiskTests`.)
/// 9. Each stream's counters (records, pending records and bytes, dead letters) move in the
///    transaction that changes what they count, so they equal a count of the rows, after a crash
///    too; a stream is pruned only with nothing stored, no dead letters and no delivery inside the
///    replay window, and one that logs again gets a row again. (`StreamCountersTests`.)
/// 10. A stream is its output, log group and stream: records routed by two outputs to the same
///    group and stream are two streams, each delivered (and its cursor moved) apart; a spool
///    from before format 4 gives every stream the output its caller names for the group, once.
///    (`testTwoOutputsWritingTheSameGroupAndStreamStayApart`, `testAFormat3SpoolGivesEachStreamTheOutputThatSendsIt`.)
/// 11. The writer's cached stream ids are only of rows that exist: a pruned stream leaves the
///    cache before the next transaction, and a rolled-back one drops the rows it made.
///    (`testAPrunedStreamLeavesTheWritersCache`, `testAStreamRowGoneUnderTheWriterIsMadeAgainAndTheOthersStayCached`.)
/// 12. Every record at or below `indexed_through` has its `stream_index` entry and every entry its
///    record; readers take a stream's records through the index up to that mark and from the tail above
///    it by id, in one statement, so none is missed or read twice; the tail stays under `StreamIndex`'s
///    bounds under the writer, and salvage and eviction catch the index up first (`StreamIndex`).
///    (`StreamIndexTests`, `assertStreamIndexExact` in every counters test.)
// Safe to share: the writer, maintenance and reader each own their connection; `readerLock` guards the reader's and `instanceLock`.
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
        /// `storage.disk_reserve`: intake pauses while the spool's disk has less than this free.
        public var diskReserveBytes: Int64
        /// The headroom file kept for bookkeeping on a full disk (`DiskBudget`).
        public var headroomBytes: Int64
        /// `storage.on_corruption`.
        public var onCorruption: SpoolCorruptionPolicy
        /// How many recent chunk ids are remembered to recognise resent frames.
        /// Docker has one frame in flight per container, so thousands are plenty.
        public var recentChunkCapacity: Int
        /// The output of each stream of a spool written before streams belonged to outputs (format 3 or
        /// older), by its log group: the caller's routing rule, applied once when the file is upgraded.
        public var legacyStreamOwner: LegacyStreamOwner

        public static let defaultDiskReserveBytes: Int64 = 256 << 20
        public static let defaultHeadroomBytes: Int64 = 8 << 20

        public init(path: String, sync: SpoolSyncMode = .full, maxQueuedBytes: Int = 1 << 20, totalLimitBytes: Int64? = nil,
                    keepDelivered: TimeInterval = 3600, diskReserveBytes: Int64 = Configuration.defaultDiskReserveBytes,
                    headroomBytes: Int64 = Configuration.defaultHeadroomBytes,
                    onCorruption: SpoolCorruptionPolicy = .moveAside, recentChunkCapacity: Int = 16_384,
                    legacyStreamOwner: @escaping LegacyStreamOwner = { _ in .first }) {
            self.path = path
            self.legacyStreamOwner = legacyStreamOwner
            self.diskReserveBytes = diskReserveBytes
            self.headroomBytes = headroomBytes
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
    private let budget: DiskBudget
    private let writer: SpoolWriter
    private let maintenance: SpoolMaintenance
    private let writerDatabase: SQLiteDatabase
    private let readerDatabase: SQLiteDatabase
    private let maintenanceDatabase: SQLiteDatabase
    private let readerLock = NSLock()
    /// Guarded by `readerLock`.
    private var recentReads = RecentReads()
    /// This process's claim on the spool, released by `close()`.
    private var instanceLock: SpoolLock?

    public init(configuration: Configuration, logger: Logger = Logger(label: "spool")) throws {
        self.configuration = configuration
        self.logger = logger
        instanceLock = try SpoolLock(spoolPath: configuration.path)
        do {
            writerDatabase = try SpoolFile.open(path: configuration.path, sync: configuration.sync, onCorruption: configuration.onCorruption,
                                                owner: configuration.legacyStreamOwner, logger: logger)
            readerDatabase = try SQLiteDatabase(path: configuration.path)
            maintenanceDatabase = try SQLiteDatabase(path: configuration.path)
            let budget = DiskBudget(spoolPath: configuration.path, reserveBytes: configuration.diskReserveBytes, headroomBytes: configuration.headroomBytes)
            self.budget = budget
            pressure = SpoolPressure { reason, holds, remaining in
                let free = budget.lastAvailableBytes.map(String.init) ?? "unknown"
                if holds {
                    logger.warning("backpressure on: ingest paused, clients keep their records until there is room",
                                   metadata: ["reason": "\(reason.rawValue)", "disk_available_bytes": "\(free)", "disk_reserve_bytes": "\(budget.reserveBytes)"])
                } else if remaining.isEmpty {
                    logger.info("backpressure off: ingest resumed", metadata: ["lifted": "\(reason.rawValue)", "disk_available_bytes": "\(free)"])
                } else {
                    logger.info("backpressure eased: still paused", metadata: [
                        "lifted": "\(reason.rawValue)", "still": "\(remaining.map(\.rawValue).sorted().joined(separator: "; "))", "disk_available_bytes": "\(free)"])
                }
            }
            let pruned = PrunedStreams()
            let maintenance = SpoolMaintenance(
                database: maintenanceDatabase, pressure: pressure, budget: budget,
                limits: .init(keepDelivered: configuration.keepDelivered, totalLimitBytes: configuration.totalLimitBytes), pruned: pruned, logger: logger)
            self.maintenance = maintenance
            writer = try SpoolWriter(
                database: writerDatabase, pressure: pressure, maxQueuedBytes: configuration.maxQueuedBytes,
                recentChunkCapacity: configuration.recentChunkCapacity, pruned: pruned,
                afterCommit: { used, free in maintenance.observe(usedBytes: used, databaseFreeBytes: free) },
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

    /// Every reason intake is paused for (`storage.total_limit_size`, the disk reserve, a full disk).
    public var backpressureReasons: [String] { pressure.all.map(\.rawValue).sorted() }

    /// What the spool could still grow by on its disk when last measured (free space plus the
    /// database's free pages, less a released headroom); nil before the first measurement.
    public var diskAvailableBytes: Int64? { budget.lastAvailableBytes }

    /// Whether the headroom file for bookkeeping on a full disk is in place.
    public var headroomHeld: Bool { budget.isHeadroomHeld }

    /// Frames that arrived again after being committed, and were acked without a second copy.
    public var duplicateFrames: Int { writer.duplicateChunks }

    /// How many stream ids the writer had cached after its last commit (tests: pruned streams leave it).
    var cachedStreams: Int { writer.cachedStreams }

    /// The streams that have records not yet delivered, read from their counters
    /// (invariant 9): one row per stream, however many records wait.
    public func streamsWithPendingRecords() throws -> [SpoolStream] {
        try read { db in
            let statement = try db.prepare("""
                SELECT id, output, output_name, log_group, log_stream, delivered_through FROM streams WHERE pending_records > 0 ORDER BY id
                """)
            var streams: [SpoolStream] = []
            while try statement.step() {
                streams.append(SpoolStream(id: statement.int64(0), output: SpoolOutput(index: Int(statement.int64(1)), name: statement.text(2)),
                                           logGroup: statement.text(3), logStream: statement.text(4), deliveredThrough: statement.int64(5)))
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
            // Only `markDelivered` moves the cursor, on this connection under the same lock: it holds for the read.
            let after = try deliveredThrough(stream: stream, db)
            let statement = try db.prepare(StreamIndex.records(
                ofStream: "?1", after: "?3", columns: "r.time_ns, \(SpoolSchema.message(of: "r")), r.shape, r.message") + " ORDER BY id LIMIT ?2")
            try statement.bind(1, stream)
            try statement.bind(2, Int64(limit))
            try statement.bind(3, after)
            var records: [StoredRecord] = []
            records.reserveCapacity(min(limit, 10_000))
            var bytes = 0
            while bytes < maxBytes, try statement.step() {
                // Only a missing shape makes the whole message NULL (`message` itself is NOT NULL).
                let record = statement.isNull(2)
                    ? StoredRecord(id: statement.int64(0), timeNanoseconds: statement.int64(1), message: statement.blob(4), missingShape: statement.int64(3))
                    : StoredRecord(id: statement.int64(0), timeNanoseconds: statement.int64(1), message: statement.blob(2))
                bytes += record.message.count
                records.append(record)
            }
            recentReads.remember(stream: stream, after: after, records: records)
            return records
        }
    }

    private func deliveredThrough(stream: Int64, _ db: SQLiteDatabase) throws -> Int64 {
        let statement = try db.prepare("SELECT delivered_through FROM streams WHERE id = ?")
        try statement.bind(1, stream)
        return try statement.step() ? statement.int64(0) : .max
    }

    /// Records, in one transaction, that the service accepted every record of
    /// `stream` up to `id`, except `deadLetters`, which it refused for good and
    /// which are copied to the dead-letter table with their reason. Delivered
    /// records stay for the replay window. The stream's counters move with
    /// its cursor: what the cursor passes is no longer pending.
    /// On a full disk the headroom file is given up for it, so a batch
    /// CloudWatch accepted is recorded even then.
    public func markDelivered(stream: Int64, through id: Int64, deadLetters: [DeadLetter] = []) throws {
        try bookkeeping { db in
            try db.transaction {
                let now = Int64(Date().timeIntervalSince1970)
                var copied: Int64 = 0
                if !deadLetters.isEmpty {
                    let copy = try db.prepare("""
                        INSERT INTO dead_letters(stream_id, record_id, time_ns, tag, message, reason, created_at)
                        SELECT r.stream_id, r.id, r.time_ns, r.tag, coalesce(\(SpoolSchema.message(of: "r")), r.message), ?2, ?3 FROM records r WHERE r.id = ?1
                        """)
                    for letter in deadLetters {
                        copy.reset()
                        try copy.bind(1, letter.recordID)
                        try copy.bind(2, letter.reason)
                        try copy.bind(3, now)
                        try copy.step()
                        copied += Int64(db.changes)
                    }
                }
                let after = try deliveredThrough(stream: stream, db)
                let (records, bytes) = try recentReads.passed(stream: stream, after: after, through: id) ?? {
                    let passed = try db.prepare(StreamCounters.passedSQL)
                    try passed.bind(1, stream)
                    try passed.bind(2, after)
                    try passed.bind(3, id)
                    _ = try passed.step()
                    return (passed.int64(0), passed.int64(1))
                }()
                let advance = try db.prepare(StreamCounters.deliveredSQL)
                try advance.bind(1, stream)
                try advance.bind(2, id)
                try advance.bind(3, records)
                try advance.bind(4, bytes)
                try advance.bind(5, copied)
                try advance.bind(6, now)
                try advance.step()
                let delivery = try db.prepare("INSERT INTO deliveries(stream_id, through_id, delivered_at) VALUES(?, ?, ?)")
                try delivery.bind(1, stream)
                try delivery.bind(2, id)
                try delivery.bind(3, now)
                try delivery.step()
            }
            recentReads.forget(stream: stream)
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

    /// Stops taking records that must wait for room: the first step of a
    /// shutdown, so that no input blocks on a paused spool. Appends that wait
    /// (and new ones while intake is paused, by its limit or a full disk) throw
    /// `SpoolError.closed`; the frames are not acked, so their clients send
    /// them again. Appends while there is room are still committed.
    public func stopIntake() {
        writer.stopIntake()
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
        instanceLock = nil
    }

    /// A write that lets the spool shrink or move on: on a full disk it gets the headroom and one more try.
    private func bookkeeping<T>(_ body: (SQLiteDatabase) throws -> T) throws -> T {
        do {
            return try read(body)
        } catch SpoolError.database(let error) where error.isDiskFull && budget.releaseHeadroom() {
            logger.warning("disk full: released the spool's headroom to record a delivery", metadata: ["headroom_bytes": "\(budget.headroomBytes)"])
            return try read(body)
        }
    }

    private func read<T>(_ body: (SQLiteDatabase) throws -> T) throws -> T {
        readerLock.lock()
        defer { readerLock.unlock() }
        do {
            return try body(readerDatabase)
        } catch let error as SQLiteError {
            if error.isCorruption {
                // Ask the next start for a full check (and a fresh spool if it fails).
                _ = FileManager.default.createFile(atPath: SpoolFile.markerPath(configuration.path), contents: Data(error.description.utf8))
                logger.critical("spool read hit damaged data; the next start checks it in full", metadata: ["error": "\(error)"])
            }
            throw SpoolError.database(error)
        }
    }
}
