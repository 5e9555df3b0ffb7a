import CloudWatchLogs
import Foundation

/// What delivery has done, per log group and stream: counters for the metrics
/// endpoint, and each stream's last success and last error for `shipper status`.
// Safe to share: `lock` guards `counters` and `streams`.
final class DeliveryMetrics: @unchecked Sendable {
    struct StreamKey: Hashable, Codable {
        var logGroup: String
        var logStream: String
    }

    struct StreamHealth: Codable {
        var lastSuccess: Date?
        var lastError: String?
        var lastErrorAt: Date?
        /// When the current run of failures began; nil while deliveries succeed.
        var failingSince: Date?
    }

    struct Counters {
        public var events = 0
        var bytes = 0
        var retries = 0
        var throttles = 0
        var rejected = 0
        var truncated = 0
    }

    private let lock = NSLock()
    private var counters = Counters()
    private var streams: [StreamKey: StreamHealth] = [:]

    var snapshot: (counters: Counters, streams: [StreamKey: StreamHealth]) {
        lock.lock()
        defer { lock.unlock() }
        return (counters, streams)
    }

    func delivered(group: String, stream: String, events: Int, bytes: Int, rejected: Int, truncated: Int) {
        lock.lock()
        counters.events += events
        counters.bytes += bytes
        counters.rejected += rejected
        counters.truncated += truncated
        streams[StreamKey(logGroup: group, logStream: stream), default: StreamHealth()].lastSuccess = Date()
        streams[StreamKey(logGroup: group, logStream: stream)]?.failingSince = nil
        lock.unlock()
    }

    func failed(group: String, stream: String, error: CloudWatchError?, description: String) {
        lock.lock()
        counters.retries += 1
        if error?.serviceType == "ThrottlingException" { counters.throttles += 1 }
        let key = StreamKey(logGroup: group, logStream: stream)
        var health = streams[key, default: StreamHealth()]
        health.lastError = description
        health.lastErrorAt = Date()
        if health.failingSince == nil { health.failingSince = Date() }
        streams[key] = health
        lock.unlock()
    }

    /// The longest a stream has been failing without a success in between.
    func longestFailure(now: Date = Date()) -> TimeInterval {
        lock.lock()
        defer { lock.unlock() }
        return streams.values.compactMap { $0.failingSince.map { now.timeIntervalSince($0) } }.max() ?? 0
    }
}
