import Foundation

/// Stream ids housekeeping pruned, for the writer to drop from its cache of
/// ids before its next transaction: without it the cache would keep one entry
/// per container ever seen, and an id whose row is gone would only be found
/// out by a rolled-back commit (`StreamCounters.StreamRowGone`).
// Safe to share: `lock` guards `ids`.
final class PrunedStreams: @unchecked Sendable {
    private let lock = NSLock()
    private var ids: [Int64] = []

    /// Housekeeping committed the removal of these streams.
    func add(_ pruned: [Int64]) {
        guard !pruned.isEmpty else { return }
        lock.lock()
        ids += pruned
        lock.unlock()
    }

    /// Everything pruned since the last call.
    func take() -> [Int64] {
        lock.lock()
        defer { lock.unlock() }
        let taken = ids
        ids = []
        return taken
    }
}
