import Foundation

/// Whether the spool takes more records, shared by the writer (which blocks
/// appends while paused) and the maintenance thread (which frees space).
///
/// Pausing is how backpressure reaches the clients: a blocked append blocks
/// the connection that made it, which stops reading its socket, and Docker's
/// async driver keeps the lines in its own buffer. Nothing is dropped.
final class SpoolPressure: @unchecked Sendable {
    enum Reason: String, Sendable {
        case totalLimit = "storage.total_limit_size reached"
        case diskFull = "disk full"
    }

    private let condition = NSCondition()
    private var reason: Reason?
    private let onChange: @Sendable (Reason?) -> Void

    init(onChange: @escaping @Sendable (Reason?) -> Void) {
        self.onChange = onChange
    }

    var current: Reason? {
        condition.lock()
        defer { condition.unlock() }
        return reason
    }

    func pause(_ why: Reason) {
        condition.lock()
        let changed = reason != why
        reason = why
        condition.unlock()
        if changed { onChange(why) }
    }

    func resume() {
        condition.lock()
        let changed = reason != nil
        reason = nil
        condition.broadcast()
        condition.unlock()
        if changed { onChange(nil) }
    }

    /// Blocks while paused, as long as `mayWait` holds; returns `false` if it
    /// gave up while paused. Not paused, it returns `true` whatever `mayWait`
    /// says: the caller checks for itself whether it still takes appends.
    func waitUntilAccepting(while mayWait: () -> Bool) -> Bool {
        condition.lock()
        defer { condition.unlock() }
        while reason != nil {
            guard mayWait() else { return false }
            _ = condition.wait(until: Date().addingTimeInterval(0.5))
        }
        return true
    }

    func wakeAll() {
        condition.lock()
        condition.broadcast()
        condition.unlock()
    }
}
