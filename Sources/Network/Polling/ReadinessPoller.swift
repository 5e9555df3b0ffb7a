#if os(Windows)
import WinSDK
#elseif canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#elseif canImport(Darwin)
import Darwin
#endif

/// Which readiness a poller waits for on one socket.
public struct PollInterest: OptionSet, Sendable {
    public let rawValue: UInt8
    public init(rawValue: UInt8) { self.rawValue = rawValue }

    public static let readable = PollInterest(rawValue: 1)
    public static let writable = PollInterest(rawValue: 2)
}

/// What a poller found on one socket.
public struct PollReadiness: OptionSet, Sendable {
    public let rawValue: UInt8
    public init(rawValue: UInt8) { self.rawValue = rawValue }

    public static let readable = PollReadiness(rawValue: 1)
    public static let writable = PollReadiness(rawValue: 2)
    /// The socket failed or its peer hung up: the next read or write says how.
    public static let failed = PollReadiness(rawValue: 4)
}

/// Waits until any of many sockets is ready, for one event loop: epoll(7) on
/// Linux, WSAPoll on Windows and poll(2) on other POSIX systems, through
/// `SocketCalls`.
///
/// On Linux the kernel keeps the set: a wait costs in proportion to the
/// sockets that are ready, and a change of interest (rare: a connection that
/// waits for a budget, or for room to send) is one `epoll_ctl`. With poll,
/// every wait made the kernel ask each of a loop's sockets (50 acking
/// connections: 5% of the loops' time, for about a dozen frames per wait).
/// With poll the array is rebuilt only when an interest changed since the
/// last wait; Linux can use it too (`Mechanism.poll`), so that its tests run
/// the code Windows runs. Either way a socket without interest is left out:
/// its failure comes with its next interest. Sockets are known by a key the
/// caller chooses (any `Int` but `Int.min`). Only `wakeUp()` may be called
/// from other threads; everything else belongs to the loop's thread.
// Safe to share: only `wakeUp()` is called from other threads (`WakeUpChannel` is Sendable); the rest belongs to the loop's thread.
public final class ReadinessPoller: @unchecked Sendable {
    /// How a poller waits.
    public enum Mechanism: Sendable {
        /// poll(2), or WSAPoll on Windows, over an array of the watched sockets.
        case poll
        #if os(Linux)
        /// The kernel's set of watched sockets.
        case epoll
        #endif

        /// What each system's event loops use.
        #if os(Linux)
        public static let standard = Mechanism.epoll
        #else
        public static let standard = Mechanism.poll
        #endif
    }

    private let wakeUps: WakeUpChannel
    private var interests: [Int: (handle: SocketCalls.Handle, interest: PollInterest)] = [:]
    #if os(Linux)
    /// The kernel's set with `Mechanism.epoll`, else nil.
    private let epoll: SocketCalls.Handle?
    /// Where a wait takes its events; more ready sockets than this come with the next wait.
    private var events: [SocketCalls.EpollEvent] = []
    /// The wake-up counter's tag in the set: no key maps to it.
    private static let wakeUpTag = UInt64(bitPattern: Int64(Int.min))
    #endif
    /// With `Mechanism.poll`, what the last wait polled: the wake-up socket first, then one entry per key in `keys`.
    private var entries: [pollfd] = []
    private var keys: [Int] = []
    private var changed = true

    public init(mechanism: Mechanism = .standard) throws {
        SocketCalls.startNetworking()
        #if os(Linux)
        guard case .epoll = mechanism else {
            wakeUps = try WakeUpChannel(kind: .loopbackDatagram)
            epoll = nil
            return
        }
        wakeUps = try WakeUpChannel(kind: .eventCounter)
        let epoll = SocketCalls.epollCreate()
        guard epoll >= 0 else { throw SocketError(operation: "epoll_create1 for an event loop", code: SocketCalls.lastError()) }
        guard SocketCalls.epollSet(epoll, wakeUps.handle, existing: false, events: SocketCalls.epollInput, tag: Self.wakeUpTag) == 0 else {
            let code = SocketCalls.lastError()
            SocketCalls.closeHandle(epoll)
            throw SocketError(operation: "epoll_ctl adding the poller's wake-up counter", code: code)
        }
        self.epoll = epoll
        events = Array(repeating: SocketCalls.EpollEvent(), count: 256)
        #else
        wakeUps = try WakeUpChannel(kind: .loopbackDatagram)
        #endif
    }

    #if os(Linux)
    deinit {
        if let epoll { SocketCalls.closeHandle(epoll) }
    }
    #endif

    /// Starts watching `socket` under `key` (which must not be watched already);
    /// throws when the system refuses to watch it (Linux: out of epoll watches).
    public func register(_ socket: StreamSocket, as key: Int, for interest: PollInterest) throws {
        precondition(key != Int.min, "Int.min is the poller's own key")
        try watch(key, socket.descriptor, from: [], to: interest)
        interests[key] = (socket.descriptor, interest)
    }

    /// What `key` is waited for from now on; empty: only its failure is reported.
    public func change(_ key: Int, to interest: PollInterest) throws {
        guard let current = interests[key], current.interest != interest else { return }
        try watch(key, current.handle, from: current.interest, to: interest)
        interests[key] = (current.handle, interest)
    }

    /// Stops watching `key`; before its socket is closed.
    public func deregister(_ key: Int) {
        guard let current = interests.removeValue(forKey: key) else { return }
        // Removing a socket the kernel watches cannot fail but for a socket closed already, which the set has dropped.
        try? watch(key, current.handle, from: current.interest, to: [])
    }

    /// How many sockets are watched.
    public var count: Int { interests.count }

    /// Makes the current or next `wait` return soon; from any thread.
    public func wakeUp() {
        wakeUps.signal()
    }

    /// Waits up to `seconds` (nil: until something happens) for a watched socket
    /// to be ready or a `wakeUp()`, then calls `ready` for each socket that is.
    /// Readiness is level-triggered: a socket that is still ready is reported
    /// again by the next wait. A socket deregistered by an earlier call of
    /// `ready` in the same wait is not reported.
    public func wait(seconds: Double?, _ ready: (_ key: Int, _ readiness: PollReadiness) -> Void) throws {
        let milliseconds = seconds.map { Int32(min(max(($0 * 1000).rounded(.up), 0), 3_600_000)) } ?? -1
        #if os(Linux)
        if let epoll {
            try waitForEvents(of: epoll, milliseconds: milliseconds, ready)
            return
        }
        #endif
        try pollEntries(milliseconds: milliseconds, ready)
    }

    /// Tells the mechanism that `key`'s socket goes from `old` to `new`.
    private func watch(_ key: Int, _ handle: SocketCalls.Handle, from old: PollInterest, to new: PollInterest) throws {
        guard old != new else { return }
        #if os(Linux)
        if let epoll {
            var events: UInt32 = 0
            if new.contains(.readable) { events |= SocketCalls.epollInput }
            if new.contains(.writable) { events |= SocketCalls.epollOutput }
            let tag = UInt64(bitPattern: Int64(key))
            guard SocketCalls.epollSet(epoll, handle, existing: !old.isEmpty, events: new.isEmpty ? nil : events, tag: tag) == 0 else {
                throw SocketError(operation: "epoll_ctl for a socket of an event loop", code: SocketCalls.lastError())
            }
            return
        }
        #endif
        changed = true
    }

    #if os(Linux)
    private func waitForEvents(of epoll: SocketCalls.Handle, milliseconds: Int32, _ ready: (_ key: Int, _ readiness: PollReadiness) -> Void) throws {
        let found: Int32 = try events.withUnsafeMutableBufferPointer { events in
            while true {
                let found = SocketCalls.epollWait(epoll, events, milliseconds: milliseconds)
                if found >= 0 { return found }
                let code = SocketCalls.lastError()
                if SocketCalls.isInterrupted(code) { continue }
                throw SocketError(operation: "epoll_wait on \(interests.count) sockets", code: code)
            }
        }
        for index in 0..<Int(found) {
            let (tag, flags) = SocketCalls.epollTag(events[index])
            if tag == Self.wakeUpTag {
                wakeUps.drain()
                continue
            }
            let key = Int(Int64(bitPattern: tag))
            guard let watched = interests[key], !watched.interest.isEmpty else { continue }
            var readiness: PollReadiness = []
            if flags & SocketCalls.epollInput != 0 { readiness.insert(.readable) }
            if flags & SocketCalls.epollOutput != 0 { readiness.insert(.writable) }
            if flags & SocketCalls.epollFailure != 0 { readiness.insert(.failed) }
            ready(key, readiness)
        }
    }
    #endif

    private func pollEntries(milliseconds: Int32, _ ready: (_ key: Int, _ readiness: PollReadiness) -> Void) throws {
        if changed { rebuild() }
        let found: Int32 = try entries.withUnsafeMutableBufferPointer { entries in
            while true {
                let found = SocketCalls.pollEntries(entries, milliseconds: milliseconds)
                if found >= 0 { return found }
                let code = SocketCalls.lastError()
                if SocketCalls.isInterrupted(code) { continue }
                throw SocketError(operation: "poll of \(entries.count - 1) sockets", code: code)
            }
        }
        guard found > 0 else { return }
        if entries[0].revents != 0 {
            entries[0].revents = 0
            wakeUps.drain()
        }
        for index in 1..<entries.count where entries[index].revents != 0 {
            let events = entries[index].revents
            entries[index].revents = 0
            // Not a socket deregistered or given no interest since the array was made (epoll skips those too),
            // nor one whose key now names another socket.
            guard let watched = interests[keys[index - 1]], watched.handle == entries[index].fd, !watched.interest.isEmpty else { continue }
            var readiness: PollReadiness = []
            if events & SocketCalls.inputEvents != 0 { readiness.insert(.readable) }
            if events & SocketCalls.outputEvents != 0 { readiness.insert(.writable) }
            if events & SocketCalls.failureEvents != 0 { readiness.insert(.failed) }
            ready(keys[index - 1], readiness)
        }
    }

    /// The array to poll: sockets without interest stay out (WSAPoll refuses an
    /// entry that asks for nothing), their failures come with their next interest.
    private func rebuild() {
        changed = false
        entries.removeAll(keepingCapacity: true)
        keys.removeAll(keepingCapacity: true)
        entries.append(pollfd(fd: wakeUps.handle, events: SocketCalls.inputEvents, revents: 0))
        for (key, watched) in interests where !watched.interest.isEmpty {
            var events: Int16 = 0
            if watched.interest.contains(.readable) { events |= SocketCalls.inputEvents }
            if watched.interest.contains(.writable) { events |= SocketCalls.outputEvents }
            entries.append(pollfd(fd: watched.handle, events: events, revents: 0))
            keys.append(key)
        }
    }
}
