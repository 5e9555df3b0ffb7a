import Foundation

/// The open connections of one forward input, for `Max_Connections`: who is
/// admitted, and which connection that never sent a frame makes room.
// Safe to share: `lock` guards `slots`.
final class ConnectionRegistry: @unchecked Sendable {
    private let lock = NSLock()
    private var slots: [Int: ConnectionSlot] = [:]
    private let maxConnections: Int
    /// Only a connection silent for longer than this may make room: churn must not evict one just made.
    private let silentNanoseconds: UInt64

    init(maxConnections: Int, handshakeTimeout: Double) {
        self.maxConnections = maxConnections
        silentNanoseconds = UInt64(handshakeTimeout * 1e9)
    }

    /// What `admit` decided.
    enum Admission {
        case admitted(ConnectionSlot)
        /// Admitted in the place of a connection that never sent a frame, which must be closed.
        case admittedInPlaceOf(ConnectionSlot, evicted: ConnectionSlot)
        case refused
    }

    /// Gives `socket` a place under `key` if there is one or one can be made.
    func admit(_ slot: ConnectionSlot, as key: Int) -> Admission {
        lock.lock()
        defer { lock.unlock() }
        guard slots.count >= maxConnections else {
            slots[key] = slot
            return .admitted(slot)
        }
        let silentSince = DispatchTime.now().uptimeNanoseconds &- silentNanoseconds
        guard let (silentKey, silent) = slots.filter({ !$0.value.hasSentFrame && $0.value.opened <= silentSince })
            .min(by: { $0.value.opened < $1.value.opened }) else { return .refused }
        slots[silentKey] = nil
        slots[key] = slot
        return .admittedInPlaceOf(slot, evicted: silent)
    }

    /// The connection under `key` closed.
    func release(_ key: Int) {
        lock.lock()
        slots[key] = nil
        lock.unlock()
    }
}
