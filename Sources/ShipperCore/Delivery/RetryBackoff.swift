/// Exponential backoff with full jitter, capped: the delay AWS recommends for
/// retrying throttled or failing calls without synchronising the retries of
/// many hosts.
struct RetryBackoff: Sendable {
    var base: Double = 0.2
    var cap: Double = 30
    private(set) var attempt = 0

    init(base: Double = 0.2, cap: Double = 30) {
        self.base = base
        self.cap = cap
    }

    /// The next delay in seconds.
    mutating func next() -> Double {
        let ceiling = min(cap, base * Double(1 << min(attempt, 20)))
        attempt += 1
        return Double.random(in: 0...ceiling)
    }

    mutating func reset() {
        attempt = 0
    }
}
