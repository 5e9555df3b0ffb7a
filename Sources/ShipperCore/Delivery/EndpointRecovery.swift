import Foundation

/// What the streams sending to one endpoint know together about it: whether
/// calls are failing, and how often it has come back.
///
/// Each stream keeps its own backoff, and after an outage a stream that had
/// drawn a long delay (full jitter, up to 30 s) would sit idle long after the
/// endpoint answered again. So the first success after failures counts as a
/// recovery, and every stream waiting out a failure (not a throttle: a
/// throttled account is not to be hammered from every stream at once) tries
/// again at once.
// Safe to share: `lock` guards both counters.
final class EndpointRecovery: @unchecked Sendable {
    private let lock = NSLock()
    private var failing = false
    private var recoveries = 0

    /// A call to the endpoint failed (an error answer or no answer).
    func failed() {
        lock.lock()
        failing = true
        lock.unlock()
    }

    /// A call succeeded: if calls were failing, that is a recovery.
    func succeeded() {
        lock.lock()
        if failing {
            failing = false
            recoveries += 1
        }
        lock.unlock()
    }

    /// How many recoveries there have been: a waiting stream compares it with what it saw.
    var count: Int {
        lock.lock()
        defer { lock.unlock() }
        return recoveries
    }
}
