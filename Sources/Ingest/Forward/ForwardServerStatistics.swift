import Foundation

/// What a forward input has seen, for the metrics endpoint: connections,
/// bytes, and frames refused as bad input.
// Safe to share: `lock` guards every counter.
public final class ForwardServerStatistics: @unchecked Sendable {
    private let lock = NSLock()
    private var active = 0
    private var accepted = 0
    private var bytes = 0
    private var refusedCount = 0

    public init() {}

    public struct Snapshot: Sendable {
        public var activeConnections: Int
        public var acceptedConnections: Int
        public var bytesReceived: Int
        public var refusedConnections: Int
    }

    public var snapshot: Snapshot {
        lock.lock()
        defer { lock.unlock() }
        return Snapshot(activeConnections: active, acceptedConnections: accepted, bytesReceived: bytes, refusedConnections: refusedCount)
    }

    func opened() { update { $0.active += 1; $0.accepted += 1 } }
    func closed() { update { $0.active -= 1 } }
    func received(_ count: Int) { update { $0.bytes += count } }
    public func refused() { update { $0.refusedCount += 1 } }

    private func update(_ change: (ForwardServerStatistics) -> Void) {
        lock.lock()
        change(self)
        lock.unlock()
    }
}
