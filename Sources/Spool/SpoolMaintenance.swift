import Foundation
import Logging

/// The spool's housekeeping, on its own connection and thread so that it never
/// holds up ingest: removes delivered records once the replay window has
/// passed (or sooner, oldest first, when the spool is over its limit or the
/// disk below its reserve), lifts backpressure once there is room again,
/// remakes the headroom file, prunes idle streams, and checkpoints the WAL.
///
/// Every deletion is a small transaction of at most `batchSize` rows, so the
/// writer never waits long for the database.
// Safe to share: `condition` guards the flags; its database connection is used by its thread only.
final class SpoolMaintenance: @unchecked Sendable {
    struct Limits {
        /// `storage.keep_delivered`: how long delivered records stay for replays.
        var keepDelivered: TimeInterval
        /// `storage.total_limit_size`; nil means only the disk limits the spool.
        var totalLimitBytes: Int64?
        /// Intake resumes below this fraction of the limit.
        var lowWatermark: Double = 0.9
        var batchSize = 2_000
        var interval: TimeInterval = 1
    }

    private let database: SQLiteDatabase
    private let pressure: SpoolPressure
    private let budget: DiskBudget
    private let limits: Limits
    /// Where the streams pruned go, for the writer's cache.
    private let pruned: PrunedStreams
    private let condition = NSCondition()
    private var stopping = false
    private var stopped = false
    private var wakeRequested = false
    private let logger: Logger

    init(database: SQLiteDatabase, pressure: SpoolPressure, budget: DiskBudget, limits: Limits, pruned: PrunedStreams, logger: Logger) {
        self.database = database
        self.pruned = pruned
        self.pressure = pressure
        self.budget = budget
        self.limits = limits
        self.logger = logger
        let thread = Thread { [unowned self] in
            Thread.current.name = "spool-maint"
            self.run()
        }
        thread.start()
        // Named from inside and again once started, in at most 15 bytes (Linux drops a longer name): Foundation names only a thread
        // it knows, and the new thread renames itself as it starts; whichever runs last, one of the two names it.
        thread.name = "spool-maint"
    }

    /// Runs a pass now (the writer calls this when it crosses the limit or fills the disk).
    func wake() {
        condition.lock()
        wakeRequested = true
        condition.broadcast()
        condition.unlock()
    }

    /// Set by `stop()`: long loops give up between their small transactions.
    private var isStopping: Bool {
        condition.lock()
        defer { condition.unlock() }
        return stopping
    }

    func stop() {
        condition.lock()
        stopping = true
        condition.broadcast()
        while !stopped { condition.wait() }
        condition.unlock()
    }

    /// What the writer reports after each commit: pause intake once over the
    /// limit, or once the disk is below its reserve.
    func observe(usedBytes: Int64, databaseFreeBytes: Int64) {
        var paused = false
        if let limit = limits.totalLimitBytes, usedBytes >= limit {
            pressure.pause(.totalLimit)
            paused = true
        }
        if let available = budget.available(databaseFreeBytes: databaseFreeBytes), available < budget.reserveBytes {
            pressure.pause(.diskReserve)
            paused = true
        }
        if paused { wake() }
    }

    private func run() {
        while true {
            condition.lock()
            if !stopping && !wakeRequested { _ = condition.wait(until: Date().addingTimeInterval(limits.interval)) }
            wakeRequested = false
            let done = stopping
            condition.unlock()
            if done { break }
            pass()
        }
        condition.lock()
        stopped = true
        condition.broadcast()
        condition.unlock()
    }

    private let passLock = NSLock()

    /// One round of housekeeping; errors are left for the next round.
    func pass() {
        passLock.lock()
        defer { passLock.unlock() }
        let cutoff = Int64(Date().addingTimeInterval(-limits.keepDelivered).timeIntervalSince1970)
        _ = try? withHeadroom { try removeDelivered(deliveredBefore: cutoff) }
        _ = try? withHeadroom { try removeIdleStreams(lastDeliveredBefore: cutoff) }
        // Someone else may fill the disk while nothing comes in: look every pass, not only after commits.
        if let room = room(), room.available < budget.reserveBytes { pressure.pause(.diskReserve) }
        let paused = pressure.all
        if !paused.isEmpty {
            let diskPaused = paused.contains(.diskReserve) || paused.contains(.diskFull)
            let enough = { (room: Room) in room.withinLimit && (!diskPaused || room.available >= self.budget.reserveBytes + self.budget.resumeMargin) }
            // Over the limit or short of disk: delivered records go first, whatever their age.
            var evicted = 0
            while !isStopping, let room = room(), !enough(room),
                  let removed = try? withHeadroom({ try removeDelivered(deliveredBefore: .max, maxBatches: 1) }), removed > 0 {
                evicted += removed
            }
            if evicted > 0 {
                logger.warning("spool full: removed delivered records before their replay window ended", metadata: ["records": "\(evicted)"])
            }
            if let room = room() {
                if room.withinLimit { pressure.resume(.totalLimit) }
                if room.available >= budget.reserveBytes + budget.resumeMargin {
                    pressure.resume(.diskReserve)
                    pressure.resume(.diskFull)
                }
            }
        }
        _ = try? withHeadroom { try removeUnusedShapes() }
        _ = try? withHeadroom { try database.execute("PRAGMA wal_checkpoint(PASSIVE)") }
        budget.restoreHeadroomIfRoom()
    }

    /// Where the spool stands against its limits.
    private struct Room {
        /// At or below the low watermark of `storage.total_limit_size` (always, without a limit).
        var withinLimit: Bool
        /// What the spool can still grow by on its disk (`DiskBudget.available`).
        var available: Int64
    }

    /// Nil if the database cannot be asked; a disk the OS says nothing about counts as roomy.
    private func room() -> Room? {
        guard let usage = try? database.pageUsage() else { return nil }
        return Room(withinLimit: usage.usedBytes <= lowWatermarkBytes, available: budget.available(databaseFreeBytes: usage.freeBytes) ?? .max)
    }

    /// Runs a housekeeping write; if the disk is full, gives it the headroom and tries once more.
    private func withHeadroom<T>(_ body: () throws -> T) throws -> T {
        do {
            return try body()
        } catch let error as SQLiteError where error.isDiskFull && budget.releaseHeadroom() {
            logger.warning("disk full: released the spool's headroom so housekeeping can free space", metadata: ["headroom_bytes": "\(budget.headroomBytes)"])
            return try body()
        }
    }

    /// Deletes the closed shapes no record uses (`shape_uses`), with their
    /// counts. Open shapes (the writer's) are never touched, and a closed one
    /// stays while any record uses it, whatever `last_id` says: a shape deleted
    /// under a record would leave that record without its message. A shape
    /// without a count is never deleted. Returns how many went.
    @discardableResult
    func removeUnusedShapes() throws -> Int {
        try database.transaction {
            try database.execute("""
                DELETE FROM shapes WHERE last_id IS NOT NULL
                AND id IN (SELECT shape FROM shape_uses WHERE records = 0)
                """)
            let removed = database.changes
            try database.execute("DELETE FROM shape_uses WHERE records = 0 AND shape NOT IN (SELECT id FROM shapes)")
            return removed
        }
    }

    private var lowWatermarkBytes: Int64 {
        guard let limit = limits.totalLimitBytes else { return .max }
        return Int64(Double(limit) * limits.lowWatermark)
    }

    /// Removes the records of deliveries made at or before `cutoff` (Unix seconds),
    /// oldest delivery first, in transactions of at most `batchSize` rows, found
    /// through `stream_index` and deleted with their entries. A delivery that
    /// reaches into the unindexed tail first catches the index up.
    /// Returns how many records it removed.
    @discardableResult
    func removeDelivered(deliveredBefore cutoff: Int64, maxBatches: Int = .max) throws -> Int {
        let next = try database.prepare("SELECT id, stream_id, through_id FROM deliveries WHERE delivered_at <= ? ORDER BY id LIMIT 1")
        let batch = "SELECT id FROM stream_index WHERE stream_id = ?1 AND id <= ?2 ORDER BY id LIMIT ?3"
        let removeRecords = try database.prepare("DELETE FROM records WHERE id IN (\(batch)) RETURNING shape")
        let removeEntries = try database.prepare("DELETE FROM stream_index WHERE stream_id = ?1 AND id IN (\(batch))")
        let releaseShape = try database.prepare(MessageShapes.releasedSQL)
        let removeDelivery = try database.prepare("DELETE FROM deliveries WHERE stream_id = ? AND through_id <= ?")
        let uncount = try database.prepare(StreamCounters.evictedSQL)
        var removed = 0
        var batches = 0
        // A stop does not wait for a long backlog of expired deliveries: the next start goes on.
        while batches < maxBatches && !isStopping {
            next.reset()
            try next.bind(1, cutoff)
            guard try next.step() else { break }
            let stream = next.int64(1)
            let through = next.int64(2)
            next.reset()
            if through > (try database.integer("SELECT \(StreamIndex.indexedThrough)")) {
                try database.transaction { try StreamIndex.catchUp(database) }
            }
            let count = try database.transaction { () -> Int in
                removeRecords.reset()
                try removeRecords.bind(1, stream)
                try removeRecords.bind(2, through)
                try removeRecords.bind(3, Int64(limits.batchSize))
                var count = 0
                var shapeUses: [Int64: Int64] = [:]
                while try removeRecords.step() {
                    count += 1
                    if !removeRecords.isNull(0) { shapeUses[removeRecords.int64(0), default: 0] += 1 }
                }
                removeEntries.reset()
                try removeEntries.bind(1, stream)
                try removeEntries.bind(2, through)
                try removeEntries.bind(3, Int64(limits.batchSize))
                try removeEntries.step()
                let entries = database.changes
                for (shape, records) in shapeUses {
                    releaseShape.reset()
                    try releaseShape.bind(1, shape)
                    try releaseShape.bind(2, records)
                    try releaseShape.step()
                }
                // Delivered records only: what is pending stays as it was.
                uncount.reset()
                try uncount.bind(1, stream)
                try uncount.bind(2, Int64(count))
                try uncount.step()
                if entries < limits.batchSize {
                    removeDelivery.reset()
                    try removeDelivery.bind(1, stream)
                    try removeDelivery.bind(2, through)
                    try removeDelivery.step()
                }
                return count
            }
            removed += count
            // A delivery whose records went with the one before it (a multiple of batchSize)
            // only loses its row: not a batch, so eviction does not stop at it.
            if count > 0 { batches += 1 }
        }
        return removed
    }

    /// Deletes the streams with nothing left: no records, no dead letters, and
    /// no delivery after `cutoff` (Unix seconds; the replay window's start), with
    /// the delivery rows they still have. One row per container ever seen would
    /// otherwise stay for good, and every status and scrape would read them all.
    /// A stream that gets records again gets a new row (`StreamRows`; a writer
    /// that had cached the old one drops it before its next transaction, `PrunedStreams`;
    /// one that commits between the two finds it gone, `StreamCounters.StreamRowGone`).
    /// Returns how many went.
    @discardableResult
    func removeIdleStreams(lastDeliveredBefore cutoff: Int64) throws -> Int {
        let idle = "SELECT id FROM streams WHERE records = 0 AND pending_records = 0 AND dead_letters = 0 AND coalesce(last_delivered_at, 0) <= ?1"
        // Looked at outside a transaction first: most passes find none, and take no write lock for it.
        let any = try database.prepare(idle + " LIMIT 1")
        try any.bind(1, cutoff)
        guard try any.step() else { return 0 }
        any.reset()
        let removeDeliveries = try database.prepare("DELETE FROM deliveries WHERE stream_id IN (\(idle))")
        let removeStreams = try database.prepare("DELETE FROM streams WHERE id IN (\(idle)) RETURNING id")
        let removed = try database.transaction { () -> [Int64] in
            try removeDeliveries.bind(1, cutoff)
            try removeDeliveries.step()
            try removeStreams.bind(1, cutoff)
            var ids: [Int64] = []
            while try removeStreams.step() { ids.append(removeStreams.int64(0)) }
            return ids
        }
        pruned.add(removed)
        return removed.count
    }
}
