import Foundation
import Logging

/// The spool's housekeeping, on its own connection and thread so that it never
/// holds up ingest: removes delivered records once the replay window has
/// passed (or sooner, oldest first, when the spool is over its limit), lifts
/// backpressure once below the low watermark, and checkpoints the WAL.
///
/// Every deletion is a small transaction of at most `batchSize` rows, so the
/// writer never waits long for the database.
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
    private let limits: Limits
    private let condition = NSCondition()
    private var stopping = false
    private var stopped = false
    private var wakeRequested = false
    private let logger: Logger

    init(database: SQLiteDatabase, pressure: SpoolPressure, limits: Limits, logger: Logger) {
        self.database = database
        self.pressure = pressure
        self.limits = limits
        self.logger = logger
        let thread = Thread { [unowned self] in self.run() }
        thread.name = "spool-maintenance"
        thread.start()
    }

    /// Runs a pass now (the writer calls this when it crosses the limit or fills the disk).
    func wake() {
        condition.lock()
        wakeRequested = true
        condition.broadcast()
        condition.unlock()
    }

    func stop() {
        condition.lock()
        stopping = true
        condition.broadcast()
        while !stopped { condition.wait() }
        condition.unlock()
    }

    /// What the writer reports after each commit: pause intake once over the limit.
    func observe(usedBytes: Int64) {
        guard let limit = limits.totalLimitBytes, usedBytes >= limit, pressure.current == nil else { return }
        pressure.pause(.totalLimit)
        wake()
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
        _ = try? removeDelivered(deliveredBefore: cutoff)
        if pressure.current != nil {
            // Over the limit or out of disk: delivered records go first, whatever their age.
            var evicted = 0
            while pressure.current != nil, let removed = try? removeDelivered(deliveredBefore: .max, maxBatches: 1), removed > 0 {
                evicted += removed
                if let used = try? database.usedBytes(), used <= lowWatermarkBytes { break }
            }
            if evicted > 0 {
                logger.warning("spool full: removed delivered records before their replay window ended", metadata: ["records": "\(evicted)"])
            }
            if let used = try? database.usedBytes(), used <= lowWatermarkBytes {
                pressure.resume()
            }
        }
        _ = try? removeUnusedShapes()
        _ = try? database.execute("PRAGMA wal_checkpoint(PASSIVE)")
    }

    /// Deletes the closed shapes no record refers to (`records_by_shape` makes
    /// asking cheap). Open shapes (the writer's) are never touched, and a
    /// closed one stays while any record uses it, whatever `last_id` says:
    /// a shape deleted under a record would leave that record without its
    /// message. Returns how many went.
    @discardableResult
    func removeUnusedShapes() throws -> Int {
        try database.execute("""
            DELETE FROM shapes WHERE last_id IS NOT NULL
            AND NOT EXISTS (SELECT 1 FROM records r WHERE r.shape = shapes.id)
            """)
        return database.changes
    }

    private var lowWatermarkBytes: Int64 {
        guard let limit = limits.totalLimitBytes else {
            // Paused for a full disk with no configured limit: resume once anything was freed.
            return .max
        }
        return Int64(Double(limit) * limits.lowWatermark)
    }

    /// Removes the records of deliveries made at or before `cutoff` (Unix seconds),
    /// oldest delivery first, in transactions of at most `batchSize` rows.
    /// Returns how many records it removed.
    @discardableResult
    func removeDelivered(deliveredBefore cutoff: Int64, maxBatches: Int = .max) throws -> Int {
        let next = try database.prepare("SELECT id, stream_id, through_id FROM deliveries WHERE delivered_at <= ? ORDER BY id LIMIT 1")
        let removeRecords = try database.prepare("DELETE FROM records WHERE id IN (SELECT id FROM records WHERE stream_id = ? AND id <= ? ORDER BY id LIMIT ?)")
        let removeDelivery = try database.prepare("DELETE FROM deliveries WHERE stream_id = ? AND through_id <= ?")
        var removed = 0
        var batches = 0
        while batches < maxBatches {
            next.reset()
            try next.bind(1, cutoff)
            guard try next.step() else { break }
            let stream = next.int64(1)
            let through = next.int64(2)
            next.reset()
            let count = try database.transaction { () -> Int in
                removeRecords.reset()
                try removeRecords.bind(1, stream)
                try removeRecords.bind(2, through)
                try removeRecords.bind(3, Int64(limits.batchSize))
                try removeRecords.step()
                let count = database.changes
                if count < limits.batchSize {
                    removeDelivery.reset()
                    try removeDelivery.bind(1, stream)
                    try removeDelivery.bind(2, through)
                    try removeDelivery.step()
                }
                return count
            }
            removed += count
            batches += 1
        }
        return removed
    }

}
