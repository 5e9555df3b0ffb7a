import CloudWatchLogs
import Foundation

/// What delivery has done: counters per output (by its name) for the metrics
/// endpoint, and each stream's last success and last error for `shipper status`.
// Safe to share: `lock` guards `counters` and `streams`.
final class DeliveryMetrics: @unchecked Sendable {
    struct StreamKey: Hashable, Codable {
        var output: String
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
        var events = 0
        var bytes = 0
        var retries = 0
        var throttles = 0
        var rejected = 0
        var truncated = 0
    }

    private let lock = NSLock()
    private var counters: [String: Counters] = [:]
    private var streams: [StreamKey: StreamHealth] = [:]

    /// The counters by output name (an output that has sent nothing yet has none), and each stream's health.
    var snapshot: (counters: [String: Counters], streams: [StreamKey: StreamHealth]) {
        lock.lock()
        defer { lock.unlock() }
        return (counters, streams)
    }

    func delivered(output: String, group: String, stream: String, events: Int, bytes: Int, rejected: Int, truncated: Int) {
        lock.lock()
        counters[output, default: Counters()].events += events
        counters[output]?.bytes += bytes
        counters[output]?.rejected += rejected
        counters[output]?.truncated += truncated
        let key = StreamKey(output: output, logGroup: group, logStream: stream)
        streams[key, default: StreamHealth()].lastSuccess = Date()
        streams[key]?.failingSince = nil
        lock.unlock()
    }

    func failed(output: String, group: String, stream: String, error: CloudWatchError?, description: String) {
        lock.lock()
        counters[output, default: Counters()].retries += 1
        if error?.serviceType == "ThrottlingException" { counters[output]?.throttles += 1 }
        let key = StreamKey(output: output, logGroup: group, logStream: stream)
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
