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
/// holder decodes of one pass of its event loop (a few reads). Connections that hold nothing start in the order
/// they asked, so small frames cannot keep passing a large one for ever.
///
/// What it does not count: each connection's receive buffer while a frame is
/// still arriving (a frame is claimed once complete): a second instance,
/// `ingest.max_receive_bytes`, bounds how far those buffers grow, under the same
/// rules, and is kept apart so that connections inside large frames never hold
/// up small ones; nor the spare capacity of growing buffers (an inflater's
/// output may hold up to twice what it claimed), nor its 64 KiB scratch buffer.
///
/// An event loop cannot block a thread that serves other clients, so it asks
/// with `tryReserve`, which never waits: when there is no room, the
/// reservation keeps its place in line and `whenRoom` is called (on another
/// thread) once room may have come, and the loop asks again. `reserve` is the
/// same rules for a thread that may wait.
// Safe to share: `lock` guards every var.
public final class DecodeBudget: @unchecked Sendable {
    /// What one connection holds; used by that connection's thread only.
    public struct Reservation: Sendable {
        /// Orders holders: the lowest ticket has held the longest.
        fileprivate var ticket: UInt64?
        /// Its place in line while it holds nothing and waits to start.
        fileprivate var queued: UInt64?
        /// Whether it is waiting for room now (counted in `waiting`).
        fileprivate var isWaiting = false
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
    /// How often a waiting `reserve` looks at `cancelled`: as the forward input's tick.
    let tick: Double
    private let lock = NSLock()
    private var inUse = 0
    private var waits = 0
    private var waiting = 0
    private var held: [UInt64: Int] = [:]
    private var nextTicket: UInt64 = 0
    /// Tickets of the connections waiting to start, in the order they asked.
    private var queue: [UInt64] = []
    /// Who to tell when room may have come, by the ticket they wait with; each is told once.
    private var waiters: [UInt64: @Sendable () -> Void] = [:]

    public init(limit: Int, tick: Double = 0.25) {
        precondition(limit > 0, "a decode budget needs room for something")
        self.limit = limit
        self.tick = tick
    }

    public var snapshot: Snapshot {
        lock.lock()
        defer { lock.unlock() }
        return Snapshot(inUse: inUse, limit: limit, waits: waits, waiting: waiting)
    }

    /// Adds `bytes` to `reservation` if the rules above allow it now, and
    /// answers whether they did. If not, the reservation keeps its place in
    /// line (ask again with it, or give it up with `cancelWait`), and
    /// `whenRoom` is called once, from whichever thread releases, when room
    /// may have come.
    public func tryReserve(_ bytes: Int, into reservation: inout Reservation, whenRoom: @escaping @Sendable () -> Void) -> Bool {
        guard bytes > 0 else { return true }
        lock.lock()
        let granted: Bool
        let waiterKey: UInt64
        if let holding = reservation.ticket {
            granted = inUse + bytes <= limit || held.keys.min() == holding
            waiterKey = holding
        } else {
            let ticket = reservation.queued ?? {
                defer { nextTicket += 1 }
                queue.append(nextTicket)
                return nextTicket
            }()
            reservation.queued = ticket
            granted = queue.first == ticket && (inUse == 0 || inUse + bytes <= limit)
            if granted {
                queue.removeFirst()
                reservation.queued = nil
                reservation.ticket = ticket
            }
            waiterKey = ticket
        }
        var toTell: [@Sendable () -> Void] = []
        if granted {
            if reservation.isWaiting {
                reservation.isWaiting = false
                waits += 1
                waiting -= 1
            }
            waiters[waiterKey] = nil
            inUse += bytes
            held[reservation.ticket!, default: 0] += bytes
            reservation.bytes += bytes
            // The next in line may fit beside this one.
            if reservation.bytes == bytes { toTell = takeWaiters() }
        } else {
            if !reservation.isWaiting {
                reservation.isWaiting = true
                waiting += 1
            }
            waiters[waiterKey] = whenRoom
        }
        lock.unlock()
        for tell in toTell { tell() }
        return granted
    }

    /// Gives up waiting: `reservation` keeps what it holds and leaves the line.
    public func cancelWait(_ reservation: inout Reservation) {
        lock.lock()
        if reservation.isWaiting {
            reservation.isWaiting = false
            waiting -= 1
        }
        if let ticket = reservation.queued ?? reservation.ticket { waiters[ticket] = nil }
        var toTell: [@Sendable () -> Void] = []
        if let queued = reservation.queued {
            reservation.queued = nil
            queue.removeAll { $0 == queued }
            toTell = takeWaiters()
        }
        lock.unlock()
        for tell in toTell { tell() }
    }

    /// Adds `bytes` to `reservation`, waiting until the rules above allow it.
    /// `cancelled` is looked at every tick while waiting; once it answers true
    /// this throws and `reservation` keeps only what it held before.
    public func reserve(_ bytes: Int, into reservation: inout Reservation, cancelled: () -> Bool) throws {
        let room = DispatchSemaphore(value: 0)
        while !tryReserve(bytes, into: &reservation, whenRoom: { room.signal() }) {
            if cancelled() {
                let inUse = snapshot.inUse
                cancelWait(&reservation)
                throw DecodeBudgetError.cancelled(wanted: bytes, inUse: inUse, limit: limit)
            }
            _ = room.wait(timeout: .now() + tick)
        }
    }

    /// Gives back everything `reservation` holds and empties it (leaving the line too).
    public func release(_ reservation: inout Reservation) {
        if reservation.queued != nil || reservation.isWaiting { cancelWait(&reservation) }
        guard let ticket = reservation.ticket else { return }
        lock.lock()
        inUse -= reservation.bytes
        held[ticket] = nil
        let toTell = takeWaiters()
        lock.unlock()
        reservation = Reservation()
        for tell in toTell { tell() }
    }

    /// Everyone waiting, each told once (with `lock` locked; call them after unlocking).
    private func takeWaiters() -> [@Sendable () -> Void] {
        guard !waiters.isEmpty else { return [] }
        defer { waiters.removeAll(keepingCapacity: true) }
        return Array(waiters.values)
    }
}
