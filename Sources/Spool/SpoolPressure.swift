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

    /// Blocks while paused, or until `stop()` says to give up; returns `false` then.
    func waitUntilAccepting(while running: () -> Bool) -> Bool {
        condition.lock()
        defer { condition.unlock() }
        while reason != nil {
            guard running() else { return false }
            _ = condition.wait(until: Date().addingTimeInterval(0.5))
        }
        return running()
    }

    func wakeAll() {
        condition.lock()
        condition.broadcast()
        condition.unlock()
    }
}
