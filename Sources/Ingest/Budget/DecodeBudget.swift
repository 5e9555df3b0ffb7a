import Foundation

/// Why a connection gave up waiting for room in the `DecodeBudget`: the server
/// is stopping, and the frame it waited for was never decoded (nor acked).
public enum DecodeBudgetError: Error, Equatable, CustomStringConvertible {
    case cancelled(wanted: Int, inUse: Int, limit: Int)

    public var description: String {
        switch self {
        case .cancelled(let wanted, let inUse, let limit):
            return "stopped while waiting for \(wanted) bytes of ingest.max_pending_bytes (\(inUse) of \(limit) in use)"
        }
    }
}

/// The process-wide budget for bytes decoded but not yet handed to the spool
/// (`ingest.max_pending_bytes`), shared by every connection of every input.
///
/// Each connection's own limits (`Buffer_Max_Size`, `Max_Entries_Per_Frame`,
/// `Max_Record_Size`) bound one frame, but not how many connections hold a
/// decoded frame at once while the spool is slow: a thousand connections each
/// holding a gzip frame inflated to 6 MiB is gigabytes. So a connection reserves
/// what a frame costs before it holds it, and waits for room when the budget is
/// spent: its client is simply not read (TCP pushes back), while the others go
/// on within the budget.
///
/// Two rules keep the waiting from becoming a deadlock:
/// - a connection that holds nothing may start whenever nothing is reserved,
///   so a frame larger than the whole budget still goes through, alone;
/// - the connection holding its reservation longest may always grow it.
///   Connections grow theirs while they decode (an inflated size is known only
///   as it inflates); if every holder waited for the others, none would release.
/// The bytes reserved therefore stay under the limit plus what the oldest
/// holder decodes of one read. Connections that hold nothing start in the order
/// they asked, so small frames cannot keep passing a large one for ever.
///
/// What it does not count: each connection's receive buffer while a frame is
/// still arriving (up to `Buffer_Max_Size`: a frame is claimed once complete),
/// the spare capacity of growing buffers (an inflater's output may hold up to
/// twice what it claimed), and its 64 KiB scratch buffer.
// Safe to share: `condition` guards every var.
public final class DecodeBudget: @unchecked Sendable {
    /// What one connection holds; used by that connection's thread only.
    public struct Reservation: Sendable {
        /// Orders holders: the lowest ticket has held the longest.
        fileprivate var ticket: UInt64?
        public fileprivate(set) var bytes = 0

        public init() {}
    }

    /// The figures for the metrics endpoint.
    public struct Snapshot: Sendable, Equatable {
        public var inUse: Int
        public var limit: Int
        /// Reservations that had to wait for room, since the start.
        public var waits: Int
        /// Connections waiting right now.
        public var waiting: Int
    }

    public let limit: Int
    /// How often a waiting connection looks at `cancelled`: as `ForwardConnection.tick`.
    let tick: Double
    private let condition = NSCondition()
    private var inUse = 0
    private var waits = 0
    private var waiting = 0
    private var held: [UInt64: Int] = [:]
    private var nextTicket: UInt64 = 0
    /// Tickets of the connections waiting to start, in the order they asked.
    private var queue: [UInt64] = []

    public init(limit: Int, tick: Double = 0.25) {
        precondition(limit > 0, "a decode budget needs room for something")
        self.limit = limit
        self.tick = tick
    }

    public var snapshot: Snapshot {
        condition.lock()
        defer { condition.unlock() }
        return Snapshot(inUse: inUse, limit: limit, waits: waits, waiting: waiting)
    }

    /// Adds `bytes` to `reservation`, waiting until the rules above allow it.
    /// `cancelled` is looked at every tick while waiting; once it answers true
    /// this throws and `reservation` keeps only what it held before.
    public func reserve(_ bytes: Int, into reservation: inout Reservation, cancelled: () -> Bool) throws {
        guard bytes > 0 else { return }
        condition.lock()
        defer { condition.unlock() }
        let ticket: UInt64
        var waited = false
        if let holding = reservation.ticket {
            ticket = holding
            while inUse + bytes > limit && held.keys.min() != ticket {
                try wait(for: bytes, waited: &waited, cancelled: cancelled)
            }
        } else {
            ticket = nextTicket
            nextTicket += 1
            queue.append(ticket)
            while queue.first != ticket || (inUse > 0 && inUse + bytes > limit) {
                do {
                    try wait(for: bytes, waited: &waited, cancelled: cancelled)
                } catch {
                    queue.removeAll { $0 == ticket }
                    condition.broadcast()
                    throw error
                }
            }
            queue.removeFirst()
            reservation.ticket = ticket
            // The next in line may fit beside this one.
            condition.broadcast()
        }
        if waited {
            waits += 1
            waiting -= 1
        }
        inUse += bytes
        held[ticket, default: 0] += bytes
        reservation.bytes += bytes
    }

    /// Gives back everything `reservation` holds and empties it.
    public func release(_ reservation: inout Reservation) {
        guard let ticket = reservation.ticket else { return }
        condition.lock()
        inUse -= reservation.bytes
        held[ticket] = nil
        condition.broadcast()
        condition.unlock()
        reservation = Reservation()
    }

    /// One tick of waiting, with `condition` locked.
    private func wait(for bytes: Int, waited: inout Bool, cancelled: () -> Bool) throws {
        if !waited {
            waited = true
            waiting += 1
        }
        if cancelled() {
            waiting -= 1
            throw DecodeBudgetError.cancelled(wanted: bytes, inUse: inUse, limit: limit)
        }
        _ = condition.wait(until: Date(timeIntervalSinceNow: tick))
    }
}
