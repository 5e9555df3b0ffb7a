import Foundation

/// Whether the spool takes more records, shared by the writer (which blocks
/// appends while paused) and the maintenance thread (which frees space).
///
/// Pausing is how backpressure reaches the clients: a blocked append blocks
/// the connection that made it, which stops reading its socket, and Docker's
/// async driver keeps the lines in its own buffer. Nothing is dropped.
// Safe to share: `condition` guards `reasons`.
final class SpoolPressure: @unchecked Sendable {
    enum Reason: String, Sendable, CaseIterable {
        case totalLimit = "storage.total_limit_size reached"
        case diskReserve = "free disk space below storage.disk_reserve"
        case diskFull = "disk full"
    }

    private let condition = NSCondition()
    private var reasons: Set<Reason> = []
    /// Called outside the lock on each change: the reason, whether it now holds, and all that hold after it.
    private let onChange: @Sendable (_ reason: Reason, _ holds: Bool, _ remaining: Set<Reason>) -> Void

    init(onChange: @escaping @Sendable (_ reason: Reason, _ holds: Bool, _ remaining: Set<Reason>) -> Void) {
        self.onChange = onChange
    }

    /// One of the reasons intake is paused (the first in declaration order), or nil when it is not.
    var current: Reason? {
        condition.lock()
        defer { condition.unlock() }
        return Reason.allCases.first { reasons.contains($0) }
    }

    /// Every reason intake is paused for.
    var all: Set<Reason> {
        condition.lock()
        defer { condition.unlock() }
        return reasons
    }

    func pause(_ why: Reason) {
        condition.lock()
        let changed = reasons.insert(why).inserted
        let now = reasons
        condition.unlock()
        if changed { onChange(why, true, now) }
    }

    /// Lifts one reason; intake resumes once none is left.
    func resume(_ why: Reason) {
        condition.lock()
        let changed = reasons.remove(why) != nil
        let now = reasons
        if now.isEmpty { condition.broadcast() }
        condition.unlock()
        if changed { onChange(why, false, now) }
    }

    /// Blocks while paused, as long as `mayWait` holds; returns `false` if it
    /// gave up while paused. Not paused, it returns `true` whatever `mayWait`
    /// says: the caller checks for itself whether it still takes appends.
    func waitUntilAccepting(while mayWait: () -> Bool) -> Bool {
        condition.lock()
        defer { condition.unlock() }
        while !reasons.isEmpty {
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
