#if os(Windows)
import WinSDK
#elseif canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#elseif canImport(Darwin)
import Darwin
#endif
import Synchronization

/// How another thread wakes a `ReadinessPoller` out of its wait.
///
/// Two kinds: a UDP socket on the loopback address that sends itself a byte,
/// which works on every system (WSAPoll polls sockets only), and on Linux an
/// eventfd counter for pollers that use epoll. The datagram goes through
/// routing, a socket buffer and the UDP receive path: by perf at 50 acking
/// connections, waking the event loops after each commit was 5.9% of the
/// spool writer's time with it and 1.4% with the counter, and draining the
/// wake-up 1.3% of the loops' time against 0.3%. Linux pollers that use
/// poll(2) keep the socket, so that Linux's tests run the code Windows runs.
/// Wake-ups that come while one is pending cost nothing: `signal` writes
/// only when none is on its way.
final class WakeUpChannel: Sendable {
    /// What carries a wake-up.
    enum Kind {
        /// A datagram to itself: any system.
        case loopbackDatagram
        #if os(Linux)
        /// An eventfd counter.
        case eventCounter
        #endif
    }

    /// How `handle` is written to and read.
    private enum Carrier: Sendable {
        /// The socket sends to where it is bound.
        case datagram(to: sockaddr_storage, length: socklen_t)
        #if os(Linux)
        case eventCounter
        #endif
    }

    let handle: SocketCalls.Handle
    private let carrier: Carrier
    /// Whether a wake-up is on its way and not drained yet.
    private let pending = Mutex(false)

    init(kind: Kind) throws {
        #if os(Linux)
        if case .eventCounter = kind {
            let handle = SocketCalls.openEventCounter()
            guard handle >= 0 else { throw SocketError(operation: "eventfd for the poller's wake-ups", code: SocketCalls.lastError()) }
            self.handle = handle
            carrier = .eventCounter
            return
        }
        #endif
        let addresses = try ResolvedAddresses(host: "127.0.0.1", port: 0, datagram: true, passive: true)
        guard let entry = addresses.first(where: { _ in true }) else {
            throw SocketError(operation: "resolving 127.0.0.1 for the poller's wake-ups", code: 0)
        }
        let handle = SocketCalls.openSocket(entry)
        guard handle != SocketCalls.invalidHandle else {
            throw SocketError(operation: "socket(UDP) for the poller's wake-ups", code: SocketCalls.lastError())
        }
        var address = sockaddr_storage()
        var length = socklen_t(MemoryLayout<sockaddr_storage>.size)
        let bound = SocketCalls.bindAddress(handle, entry) == 0 && withUnsafeMutablePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { SocketCalls.localAddress(handle, $0, &length) }
        } == 0
        guard bound else {
            let code = SocketCalls.lastError()
            SocketCalls.closeHandle(handle)
            throw SocketError(operation: "binding the poller's wake-up socket on 127.0.0.1", code: code)
        }
        SocketCalls.ignoreDatagramResets(handle)
        SocketCalls.setBlocking(handle, false)
        self.handle = handle
        carrier = .datagram(to: address, length: length)
    }

    deinit {
        SocketCalls.closeHandle(handle)
    }

    /// Makes the poller's current or next wait return; from any thread.
    func signal() {
        let send = pending.withLock { pending in
            defer { pending = true }
            return !pending
        }
        guard send else { return }
        switch carrier {
        case .datagram(var address, let length):
            var byte: UInt8 = 1
            _ = withUnsafePointer(to: &address) { to in
                to.withMemoryRebound(to: sockaddr.self, capacity: 1) { to in
                    withUnsafeBytes(of: &byte) { SocketCalls.sendTo(handle, $0, to, length) }
                }
            }
        #if os(Linux)
        case .eventCounter:
            SocketCalls.incrementEventCounter(handle)
        #endif
        }
    }

    /// Takes the wake-up, so that the next wait waits again; on the poller's thread.
    ///
    /// The wake-up is taken before the next may be written: a `signal` in
    /// between finds one pending and writes nothing, and the wait that is
    /// returning now is the one it asked for. In the other order a read of the
    /// counter could take that signal's wake-up while `pending` stayed set, and
    /// no wake-up would be written again.
    func drain() {
        switch carrier {
        case .datagram:
            // One datagram of one byte, read into the stack: no allocation per wake-up.
            var scratch: (UInt64, UInt64) = (0, 0)
            _ = withUnsafeMutableBytes(of: &scratch) { SocketCalls.receive(handle, $0) }
        #if os(Linux)
        case .eventCounter:
            SocketCalls.resetEventCounter(handle)
        #endif
        }
        pending.withLock { $0 = false }
    }
}
