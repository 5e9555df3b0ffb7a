import Foundation
import Logging

/// The single writer of the spool: a group-commit queue.
///
/// Appends from every connection accumulate while the previous transaction
/// commits, then go in together as one transaction. A caller that asked for
/// durability is released only once its records are committed, so an ack
/// never runs ahead of the disk. When the disk is full the writer keeps the
/// queued records, pauses intake and retries until space is freed, or until
/// a stop (`stopIntake`): then the batches still waiting fail, unacked, so
/// acking clients resend them; records from clients without acks go with them.
// Safe to share: `condition` guards the queue and flags, `chunksLock` the recent chunks and their count (the writer thread, which alone changes them, reads them without it); the database and statements are the writer thread's.
final class SpoolWriter: @unchecked Sendable {
    /// One caller's frames and, once the writer is done with them, the outcome.
    private final class Batch {
        let appends: [SpoolAppend]
        /// Roughly what the batch holds in memory, for the queue bound.
        let bytes: Int
        var result: Result<Void, Error>?
        /// Signalled once `result` is set: each waiting client wakes alone, not all of them on every commit.
        let done = DispatchSemaphore(value: 0)
        /// Called on the writer thread once the batch is committed (or has failed).
        let completion: (@Sendable (Result<Void, Error>) -> Void)?

        init(appends: [SpoolAppend], completion: (@Sendable (Result<Void, Error>) -> Void)? = nil) {
            self.completion = completion
            self.appends = appends
            self.bytes = appends.reduce(0) { total, append in
                total + append.records.byteCount + append.records.count * 64 + append.staged.reduce(0) { $0 + $1.bytes.count + 64 }
            }
        }
    }

    private let database: SQLiteDatabase
    private let pressure: SpoolPressure
    private let condition = NSCondition()
    private var queue: [Batch] = []
    private var queuedBytes = 0
    /// Frames in `queue`, and what the writer expects of them before its next commit.
    private var queuedFrames = 0
    private var gathering = CommitGathering()
    private var closing = false
    /// Set by `stopIntake()`: nothing waits for room any more.
    private var intakeStopped = false
    private var finished = false
    private let maxQueuedBytes: Int
    private var streamIDs: [StreamKey: Int64] = [:]
    /// The keys of `streamIDs` by id, to drop a pruned stream's entry.
    private var streamKeys: [Int64: StreamKey] = [:]
    /// Stream rows the open transaction inserted: they go if it rolls back.
    private var streamsMadeNow: [Int64] = []
    private var lastStream: (key: StreamKey, id: Int64)?
    private let pruned: PrunedStreams
    /// Read by connection threads (`hasCommitted`) and written by the writer thread.
    private var recentChunks: RecentChunks
    private let chunksLock = NSLock()
    /// Frames not stored again because they were committed before; written by
    /// the writer thread, read by the metrics endpoint, so under `chunksLock`.
    private var duplicateChunkCount = 0
    var duplicateChunks: Int {
        chunksLock.lock()
        defer { chunksLock.unlock() }
        return duplicateChunkCount
    }
    /// How many stream ids the writer had cached after its last commit, under `chunksLock`
    /// (tests: a pruned stream leaves the cache).
    private var cachedStreamCount = 0
    var cachedStreams: Int {
        chunksLock.lock()
        defer { chunksLock.unlock() }
        return cachedStreamCount
    }
    private let inserter: RecordInserter
    private let shapes: MessageShapes
    private let streamRows: StreamRows
    private let counters: StreamCounters
    private let indexer: StreamIndexer
    private let insertPiece: SQLiteStatement
    private let deletePieces: SQLiteStatement
    /// Called after each commit with the bytes the database's live pages take and its free pages.
    private let afterCommit: @Sendable (_ usedBytes: Int64, _ freeBytes: Int64) -> Void
    private let onDiskFull: @Sendable (SQLiteError) -> Void
    private let logger: Logger
    /// Commits that failed for another reason than a full disk since the last one that worked (README: I/O errors).
    private var failedCommitsInARow = 0
    /// The chunk ids the open transaction stores, so that a frame sent twice into one commit is stored once.
    /// Kept from one commit to the next while small, so that a commit costs it no allocation.
    private var seenInThisTransaction = Set<ChunkID>()
    private static let keptChunkSetCapacity = 4096

    private struct StreamKey: Hashable {
        let output: SpoolOutput
        let group: String
        let stream: String
    }

    init(database: SQLiteDatabase, pressure: SpoolPressure, maxQueuedBytes: Int, recentChunkCapacity: Int, pruned: PrunedStreams,
         afterCommit: @escaping @Sendable (Int64, Int64) -> Void, onDiskFull: @escaping @Sendable (SQLiteError) -> Void, logger: Logger) throws {
        self.database = database
        self.pruned = pruned
        self.logger = logger
        self.pressure = pressure
        self.maxQueuedBytes = maxQueuedBytes
        self.afterCommit = afterCommit
        self.onDiskFull = onDiskFull
        recentChunks = RecentChunks(capacity: recentChunkCapacity)
        inserter = try RecordInserter(database: database)
        shapes = try MessageShapes(database: database)
        streamRows = try StreamRows(database: database)
        counters = try StreamCounters(database: database)
        indexer = try StreamIndexer(database: database)
        insertPiece = try database.prepare("INSERT INTO partial_pieces(line, ordinal, piece) VALUES(?, ?, ?)")
        deletePieces = try database.prepare("DELETE FROM partial_pieces WHERE line = ?")
        // The newest rows hold the chunks that may come again; frames without
        // chunks (clients that do not ask for acks) can be interleaved, so look well back.
        try loadRecentChunks(window: 200_000)
        let thread = Thread { [unowned self] in
            Thread.current.name = "spool-writer"
            self.run()
        }
        thread.start()
        // Named from inside and again once started, in at most 15 bytes (Linux drops a longer name): Foundation names only a thread
        // it knows, and the new thread renames itself as it starts; whichever runs last, one of the two names it.
        thread.name = "spool-writer"
    }

    /// Queues the frames; with `durable`, returns only after they are committed (or throws).
    /// Blocks while the spool is over its limit.
    func append(_ appends: [SpoolAppend], durable: Bool) throws {
        guard let batch = try enqueue(appends, completion: nil) else { return }
        guard durable else { return }
        batch.done.wait()
        try batch.result?.get()
    }

    /// Queues the frames and returns at once; `completion` runs on the writer
    /// thread after the commit (or the failure). Blocks while the spool is over its limit.
    func append(_ appends: [SpoolAppend], completion: @escaping @Sendable (Result<Void, Error>) -> Void) throws {
        if try enqueue(appends, completion: completion) == nil { completion(.success(())) }
    }

    /// Whether a frame with this chunk id was committed (recently enough to be remembered).
    func hasCommitted(_ chunk: [UInt8]) -> Bool {
        hasCommitted(ChunkID(chunk))
    }

    private func hasCommitted(_ chunk: ChunkID) -> Bool {
        chunksLock.lock()
        defer { chunksLock.unlock() }
        return recentChunks.contains(chunk)
    }

    /// Puts a batch on the queue; nil when there was nothing to store.
    private func enqueue(_ appends: [SpoolAppend], completion: (@Sendable (Result<Void, Error>) -> Void)?) throws -> Batch? {
        guard appends.contains(where: { !$0.records.isEmpty || $0.chunk != nil || !$0.staged.isEmpty || !$0.completedLines.isEmpty }) else { return nil }
        // At a stop, an append that would wait for room is refused at once.
        guard pressure.waitUntilAccepting(while: { mayWaitForRoom }) else { throw SpoolError.closed }
        let batch = Batch(appends: appends, completion: completion)
        condition.lock()
        // Memory stays bounded: a full queue makes appenders (and so the sockets) wait.
        while queuedBytes >= maxQueuedBytes && !closing { condition.wait() }
        guard !closing else {
            condition.unlock()
            throw SpoolError.closed
        }
        let wasEmpty = queue.isEmpty
        let wasGathering = isGathering
        queue.append(batch)
        queuedBytes += batch.bytes
        queuedFrames += appends.count
        // Only the writer waits for appends, and only for these: waking it for every frame that comes while it
        // gathers cost the loops a futex call each and the writer a wake-up each, for nothing.
        if wasEmpty || (wasGathering && !isGathering) { condition.broadcast() }
        condition.unlock()
        return batch
    }

    /// Whether the writer, were it waiting before a commit, would wait on (`waitForAckedClients`). Under `condition`.
    private var isGathering: Bool {
        gathering.awaitsMore(queuedFrames: queuedFrames, queuedBytes: queuedBytes, queueLimit: maxQueuedBytes)
    }

    /// Whether an append may wait for room: not once the spool closes or its intake stops.
    private var mayWaitForRoom: Bool {
        condition.lock()
        defer { condition.unlock() }
        return !closing && !intakeStopped
    }

    /// The first step of a shutdown. Appends waiting for room (the spool at its
    /// limit, or the disk full) are refused at once, and so are new ones while
    /// intake is paused: their frames are not acked, so their clients send them
    /// again. Appends while there is room are still committed, so that the
    /// inputs can store what their sockets already hold. A full disk gets one
    /// more attempt, then the batches waiting for it fail.
    func stopIntake() {
        condition.lock()
        intakeStopped = true
        condition.broadcast()
        condition.unlock()
        pressure.wakeAll()
    }

    /// Commits what is queued (unless the disk stays full), then stops the writer thread.
    func close() {
        condition.lock()
        closing = true
        condition.broadcast()
        condition.unlock()
        pressure.wakeAll()
        condition.lock()
        while !finished { condition.wait() }
        condition.unlock()
    }

    private func run() {
        while true {
            condition.lock()
            while queue.isEmpty && !closing { condition.wait() }
            waitForAckedClients()
            let batches = queue
            queue.removeAll(keepingCapacity: true)
            queuedFrames = 0
            // What the writer took no longer counts against the queue: appenders fill
            // the next transaction while this one is written and synced.
            for batch in batches { queuedBytes -= batch.bytes }
            condition.broadcast()
            let stop = closing && batches.isEmpty
            condition.unlock()
            if stop { break }

            let started = DispatchTime.now().uptimeNanoseconds
            let result = commitRetryingWhileDiskFull(batches)

            condition.lock()
            for batch in batches {
                batch.result = result
            }
            // A failed commit acked nobody: no client is about to send again.
            var acked = 0
            if case .success = result { acked = batches.reduce(0) { $0 + $1.appends.count { $0.chunk != nil } } }
            gathering.committed(ackedFrames: acked, queuedFrames: queuedFrames, duration: Double(DispatchTime.now().uptimeNanoseconds - started) / 1e9)
            condition.broadcast()
            condition.unlock()
            for batch in batches {
                batch.done.signal()
                batch.completion?(result)
            }
        }
        condition.lock()
        finished = true
        condition.broadcast()
        condition.unlock()
    }

    /// Waits, the lock held, for the clients the last commit acked to send
    /// again (`CommitGathering`); not while the spool closes or stops its
    /// intake, nor once the queue is half full, so that appenders never wait
    /// for room because of it.
    ///
    /// Not on Windows: there `NSCondition.wait(until:)` counts whole
    /// milliseconds (swift-corelibs-foundation's `timeoutFrom(date:)`), so a
    /// stretch of less than one is no wait, and one of a millisecond would
    /// last until the system timer's next tick (15.6 ms by default) whenever a
    /// client is late. The writer commits at once there, as before the rule.
    private func waitForAckedClients() {
        #if os(Windows)
        return
        #else
        guard isGathering else { return }
        let now = Date()
        var wait = gathering.startWaiting(queuedFrames: queuedFrames, now: now)
        var stretchEnd: Date? = wait.firstStretchEnd(now: now)
        // Woken only when the wait is over (`enqueue`), or at the end of a stretch: then it goes on if frames came in it.
        while let end = stretchEnd, waitsForAckedClients {
            while waitsForAckedClients && condition.wait(until: end) {}
            stretchEnd = wait.nextStretchEnd(queuedFrames: queuedFrames, now: Date())
        }
        #endif
    }

    /// Whether the wait before a commit goes on: frames are still expected and nothing stops it. Under `condition`.
    private var waitsForAckedClients: Bool {
        !closing && !intakeStopped && isGathering
    }

    /// Commits `batches`; a full disk pauses intake and is retried every second
    /// until maintenance frees space, or fails the batches once intake stops or
    /// the spool closes (after at most one more attempt).
    private func commitRetryingWhileDiskFull(_ batches: [Batch]) -> Result<Void, Error> {
        while true {
            do {
                let (committedChunks, duplicates, usage) = try commit(batches)
                chunksLock.lock()
                duplicateChunkCount += duplicates
                cachedStreamCount = streamIDs.count
                chunksLock.unlock()
                if failedCommitsInARow > 0 {
                    logger.notice("spool commits work again", metadata: ["failed_commits_before": "\(failedCommitsInARow)"])
                    failedCommitsInARow = 0
                }
                shapes.committed()
                indexer.committed()
                chunksLock.lock()
                for chunk in committedChunks { recentChunks.insert(chunk) }
                chunksLock.unlock()
                afterCommit(usage.usedBytes, usage.freeBytes)
                return .success(())
            } catch let gone as StreamCounters.StreamRowGone {
                // Housekeeping pruned an idle stream after the writer last looked: its row is made again on the next try.
                forgetUncommitted()
                forget(stream: gone.streamID)
            } catch let gone as MessageShapes.ShapeRowGone {
                // Only something other than this writer closes a shape it holds open; the next try chooses the shapes again.
                logger.warning("a shape the spool writer held open was deleted under it; the commit is made again without it",
                               metadata: ["shape": "\(gone.shapeID)"])
                forgetUncommitted()
            } catch let error as SQLiteError where error.isDiskFull {
                forgetUncommitted()
                pressure.pause(.diskFull)
                onDiskFull(error)
                guard waitBeforeRetrying() else { return .failure(SpoolError.database(error)) }
            } catch let error as SQLiteError {
                // The transaction is rolled back (an I/O error in COMMIT ends it, else `transaction` does) and
                // the connection takes the next one; the batch is refused and its clients send it again.
                forgetUncommitted()
                failedCommitsInARow += 1
                logger.error("spool commit failed; none of its records is acknowledged (clients waiting for acks send theirs again)",
                             metadata: ["error": "\(error)", "sqlite_code": "\(error.code)", "os_error": "\(error.osErrorCode)",
                                        "records": "\(batches.reduce(0) { $0 + $1.appends.reduce(0) { $0 + $1.records.count } })",
                                        "failed_commits_in_a_row": "\(failedCommitsInARow)"])
                return .failure(SpoolError.database(error))
            } catch {
                forgetUncommitted()
                return .failure(error)
            }
        }
    }

    /// Waits a second before the next attempt on a full disk, or less if intake
    /// stops or the spool closes meanwhile; `false` if it has stopped or closed already.
    private func waitBeforeRetrying() -> Bool {
        condition.lock()
        defer { condition.unlock() }
        guard !closing && !intakeStopped else { return false }
        let retry = Date().addingTimeInterval(1)
        while !closing && !intakeStopped && condition.wait(until: retry) {}
        return true
    }

    /// Inserts every frame not committed before; returns the chunk ids it stored, how many frames
    /// it left out as resent, and the database's page usage as the commit leaves it.
    private func commit(_ batches: [Batch]) throws -> (stored: [ChunkID], duplicates: Int, usage: (usedBytes: Int64, freeBytes: Int64)) {
        var stored: [ChunkID] = []
        var duplicates = 0
        seenInThisTransaction.removeAll(keepingCapacity: seenInThisTransaction.capacity <= Self.keptChunkSetCapacity)
        inserter.discardPending()
        counters.discard()
        indexer.discard()
        for id in pruned.take() { forget(stream: id) }
        streamsMadeNow.removeAll(keepingCapacity: true)
        let usage = try database.transaction {
            for batch in batches {
                for append in batch.appends {
                    if let chunk = append.chunk.map(ChunkID.init) {
                        // Read without `chunksLock`: only this thread changes the recent chunks, so the loops'
                        // lookups under the lock were all the lock here kept apart, and they contended for it.
                        if recentChunks.contains(chunk) || !seenInThisTransaction.insert(chunk).inserted {
                            duplicates += 1
                            continue
                        }
                        stored.append(chunk)
                    }
                    for piece in append.staged {
                        defer { insertPiece.reset() }
                        try insertPiece.bind(1, piece.key)
                        try insertPiece.bind(2, Int64(piece.ordinal))
                        try insertPiece.bind(3, piece.bytes)
                        try insertPiece.step()
                    }
                    for line in append.completedLines {
                        defer { deletePieces.reset() }
                        try deletePieces.bind(1, line)
                        try deletePieces.step()
                    }
                    try inserter.add(append.records, chunk: append.chunk, shapes: shapes, counters: counters) {
                        try streamID(output: $0.output, group: $0.logGroup, stream: $0.logStream)
                    }
                    indexer.add(records: append.records.count, bytes: append.records.byteCount)
                }
            }
            try inserter.flush()
            try indexer.flush()
            try counters.flush()
            try shapes.flush()
            // Only a figure for the limits: as before, not being able to read it fails no commit.
            return (try? database.pageUsage()) ?? (usedBytes: 0, freeBytes: 0)
        }
        return (stored, duplicates, usage)
    }

    /// After a failed transaction the stream and shape rows it inserted are gone: those
    /// are looked up again, the streams that were there before stay cached.
    private func forgetUncommitted() {
        for id in streamsMadeNow { forget(stream: id) }
        streamsMadeNow.removeAll(keepingCapacity: true)
        lastStream = nil
        shapes.rolledBack()
    }

    /// Drops a stream whose row is gone (pruned, or made by a transaction that rolled back) from the cache.
    private func forget(stream id: Int64) {
        guard let key = streamKeys.removeValue(forKey: id) else { return }
        streamIDs[key] = nil
        if lastStream?.id == id { lastStream = nil }
    }


    private func streamID(output: SpoolOutput, group: String, stream: String) throws -> Int64 {
        // Records come in runs for one stream: comparing with the last costs less than hashing.
        if let last = lastStream, last.key.output.index == output.index, last.key.group == group, last.key.stream == stream { return last.id }
        let key = StreamKey(output: output, group: group, stream: stream)
        if let id = streamIDs[key] {
            lastStream = (key, id)
            return id
        }
        let (id, made) = try streamRows.id(output: output, group: group, stream: stream)
        if made { streamsMadeNow.append(id) }
        streamIDs[key] = id
        streamKeys[id] = key
        lastStream = (key, id)
        return id
    }


    /// Refills the chunk memory from the newest rows: the frames a client may
    /// still resend after a crash are among the last ones committed.
    private func loadRecentChunks(window: Int64) throws {
        let newest = try database.integer("SELECT coalesce(max(seq), 0) FROM sqlite_sequence WHERE name = 'records'")
        let statement = try database.prepare("SELECT chunk FROM records WHERE id > ? AND chunk IS NOT NULL ORDER BY id")
        try statement.bind(1, newest - window)
        while try statement.step() { recentChunks.insert(ChunkID(statement.blob(0))) }
    }
}
