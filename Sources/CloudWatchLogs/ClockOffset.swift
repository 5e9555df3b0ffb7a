import Foundation

/// A clock correction shared by every call of one client.
// Safe to share: `lock` guards `value`.
final class ClockOffset: @unchecked Sendable {
    private let lock = NSLock()
    private var value: TimeInterval = 0

    var seconds: TimeInterval {
        get {
            lock.lock()
            defer { lock.unlock() }
            return value
        }
        set {
            lock.lock()
            value = newValue
            lock.unlock()
        }
    }
}
