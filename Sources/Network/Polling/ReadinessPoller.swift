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

/// Waits until any of many sockets is ready, for one event loop: poll(2) on
/// POSIX systems, WSAPoll on Windows, through `SocketCalls.pollEntries`.
///
/// poll rather than epoll: one call on both systems, and a loop serves a few
/// hundred connections at most (Docker keeps one per container), where the
/// scan of the array costs less than a system call per change of interest.
/// The array is rebuilt only when an interest changed since the last wait.
/// Sockets are known by a key the caller chooses. Only `wakeUp()` may be
/// called from other threads; everything else belongs to the loop's thread.
// Safe to share: only `wakeUp()` is called from other threads (`WakeUpChannel` is Sendable); the rest belongs to the loop's thread.
public final class ReadinessPoller: @unchecked Sendable {
    private let wakeUps: WakeUpChannel
    private var interests: [Int: (handle: SocketCalls.Handle, interest: PollInterest)] = [:]
    /// What the last wait polled: the wake-up socket first, then one entry per key in `keys`.
    private var entries: [pollfd] = []
    private var keys: [Int] = []
    private var changed = true

    public init() throws {
        SocketCalls.startNetworking()
        wakeUps = try WakeUpChannel()
    }

    /// Starts watching `socket` under `key` (which must not be watched already).
    public func register(_ socket: StreamSocket, as key: Int, for interest: PollInterest) {
        interests[key] = (socket.descriptor, interest)
        changed = true
    }

    /// What `key` is waited for from now on; empty: only its failure is reported.
    public func change(_ key: Int, to interest: PollInterest) {
        guard let current = interests[key], current.interest != interest else { return }
        interests[key] = (current.handle, interest)
        changed = true
    }

    /// Stops watching `key`; before its socket is closed.
    public func deregister(_ key: Int) {
        guard interests.removeValue(forKey: key) != nil else { return }
        changed = true
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
    /// again by the next wait.
    public func wait(seconds: Double?, _ ready: (_ key: Int, _ readiness: PollReadiness) -> Void) throws {
        if changed { rebuild() }
        let milliseconds = seconds.map { Int32(min(max(($0 * 1000).rounded(.up), 0), 3_600_000)) } ?? -1
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
