import Foundation

/// What the streams sending to one endpoint know together about it: whether
/// calls are failing, how often it has come back, and whether it throttles.
///
/// Recovery: each stream keeps its own backoff for failures, and after an
/// outage a stream that had drawn a long delay (full jitter, up to 30 s) would
/// sit idle long after the endpoint answered again. So the first success after
/// failures counts as a recovery, and every stream waiting out a failure tries
/// again at once.
///
/// Throttling is the account's limit, not one stream's: a stream that backed
/// off alone would leave the others hammering the endpoint. So a throttle
/// answer starts one backoff for the whole endpoint; until it runs out no
/// stream calls, then one call at a time probes, and the first success lets
/// every stream go again (as a recovery).
// Safe to share: `lock` guards every field.
final class EndpointRecovery: @unchecked Sendable {
    private let lock = NSLock()
    private var failing = false
    private var recoveries = 0
    private var throttleBackoff: RetryBackoff
    /// While set, the endpoint throttles: no call before this time.
    private var throttledUntil: Date?
    /// When the call out probing a throttled endpoint left; the others wait for its answer.
    private var probeStarted: Date?

    /// How often a waiting stream asks again while a probe is out.
    static let probeCheckSeconds = 0.25
    /// How long a probe's answer is waited for before another stream may probe: a probe
    /// that stalls (up to the client's stall timeout) must not hold every stream that long.
    private let probePatience: TimeInterval

    /// `throttleBackoff`: the endpoint's delays between probes: full jitter, 0.2 s doubling to
    /// 10 s. Capped lower than a failure's 30 s: a throttle is the account's rate, which frees up
    /// within seconds, and every stream of the endpoint waits for the probe, so a long draw
    /// would hold all their records back after the throttle ended.
    static let throttleBackoffCap = 10.0

    init(throttleBackoff: RetryBackoff = RetryBackoff(cap: EndpointRecovery.throttleBackoffCap), probePatience: TimeInterval = 1) {
        self.throttleBackoff = throttleBackoff
        self.probePatience = probePatience
    }

    /// A call to the endpoint failed (an error answer or no answer).
    func failed() {
        lock.lock()
        failing = true
        probeStarted = nil
        lock.unlock()
    }

    /// A call succeeded: if calls were failing or throttled, that is a recovery.
    func succeeded() {
        lock.lock()
        if failing || throttledUntil != nil {
            failing = false
            recoveries += 1
        }
        throttledUntil = nil
        probeStarted = nil
        throttleBackoff.reset()
        lock.unlock()
    }

    /// A call was throttled: the endpoint's backoff grows by one round, unless
    /// this answers a call made before the current round began (streams whose
    /// calls were already out when the first throttle came).
    func throttled() {
        lock.lock()
        defer { lock.unlock() }
        let now = Date()
        if let until = throttledUntil, now < until, probeStarted == nil { return }
        throttledUntil = now.addingTimeInterval(throttleBackoff.next())
        probeStarted = nil
    }

    /// Whether a stream may call now, and if it may, whether its call is the
    /// one probe of a throttled endpoint (which must then answer through
    /// `succeeded`, `failed`, `throttled`, or `probeAbandoned` if it makes no call).
    enum Admission: Equatable {
        case go(probe: Bool)
        /// Ask again after this many seconds (or at a recovery).
        case wait(Double)
    }

    func admit() -> Admission {
        lock.lock()
        defer { lock.unlock() }
        guard let until = throttledUntil else { return .go(probe: false) }
        let left = until.timeIntervalSinceNow
        if left > 0 { return .wait(left) }
        if let started = probeStarted, -started.timeIntervalSinceNow < probePatience { return .wait(Self.probeCheckSeconds) }
        probeStarted = Date()
        return .go(probe: true)
    }

    /// The probe made no call after all: another stream may probe.
    func probeAbandoned() {
        lock.lock()
        probeStarted = nil
        lock.unlock()
    }

    /// How many recoveries there have been: a waiting stream compares it with what it saw.
    var count: Int {
        lock.lock()
        defer { lock.unlock() }
        return recoveries
    }
}
