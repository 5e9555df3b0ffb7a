import Foundation

/// How many batches every uploader together may have read and not yet
/// finished sending.
///
/// A group sends up to eight of its streams side by side, and a batch in
/// flight takes a few MiB (its encoded body, and the HTTP client's copy). A
/// host with many task families draining a backlog after an outage would
/// hold eight batches per log group at once; the slots bound the whole
/// process instead. They are handed out first come, first served, and a
/// stream gives its slot back after each batch, so streams and groups take
/// turns.
// Safe to share: `lock` guards `free`, `waiting`, `cancelledBeforeQueueing` and `nextID`.
final class DeliverySlots: @unchecked Sendable {
    private let lock = NSLock()
    private let count: Int
    private var free: Int
    private var waiting: [(id: UInt64, continuation: CheckedContinuation<Void, Error>)] = []
    /// Waiters cancelled before they queued: they must not queue after.
    private var cancelledBeforeQueueing: Set<UInt64> = []
    private var nextID: UInt64 = 0

    init(count: Int) {
        precondition(count > 0, "at least one delivery slot")
        self.count = count
        free = count
    }

    /// Waits for a slot; throws `CancellationError` if the task is cancelled while it waits.
    func acquire() async throws {
        let id = newWaiterID()
        try await withTaskCancellationHandler {
            try await withCheckedThrowingContinuation { (continuation: CheckedContinuation<Void, Error>) in
                lock.lock()
                if free > 0 {
                    free -= 1
                    lock.unlock()
                    continuation.resume()
                } else if cancelledBeforeQueueing.remove(id) != nil {
                    lock.unlock()
                    continuation.resume(throwing: CancellationError())
                } else {
                    waiting.append((id, continuation))
                    lock.unlock()
                }
            }
        } onCancel: {
            lock.lock()
            if let index = waiting.firstIndex(where: { $0.id == id }) {
                let waiter = waiting.remove(at: index)
                lock.unlock()
                waiter.continuation.resume(throwing: CancellationError())
            } else {
                cancelledBeforeQueueing.insert(id)
                lock.unlock()
            }
        }
        // Cancelled while taking a free slot: the caller has it and gives it back.
        forgetCancellation(of: id)
    }

    /// Slots held, and acquirers waiting for one.
    var usage: (held: Int, waiting: Int) {
        lock.lock()
        defer { lock.unlock() }
        return (count - free, waiting.count)
    }

    private func newWaiterID() -> UInt64 {
        lock.lock()
        defer { lock.unlock() }
        nextID += 1
        return nextID
    }

    private func forgetCancellation(of id: UInt64) {
        lock.lock()
        cancelledBeforeQueueing.remove(id)
        lock.unlock()
    }

    /// Gives a slot back: to the longest waiter, if any.
    func release() {
        lock.lock()
        guard !waiting.isEmpty else {
            free += 1
            lock.unlock()
            return
        }
        let waiter = waiting.removeFirst()
        lock.unlock()
        waiter.continuation.resume()
    }
}
