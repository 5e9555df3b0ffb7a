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

/// How another thread wakes a `ReadinessPoller` out of its wait: a UDP socket
/// on the loopback address that sends itself a byte.
///
/// A pipe or an eventfd would do on Linux, but WSAPoll polls sockets only, so
/// a socket works on every system with one piece of code (and Linux's tests
/// run the same code as Windows). Wake-ups that come while one is pending
/// cost nothing: `signal` sends only when no byte is on its way.
final class WakeUpChannel: Sendable {
    let handle: SocketCalls.Handle
    /// Where the socket is bound: where `signal` sends.
    private let address: sockaddr_storage
    private let addressLength: socklen_t
    /// Whether a wake-up byte is on its way and not drained yet.
    private let pending = Mutex(false)

    init() throws {
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
        self.address = address
        addressLength = length
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
        let byte: [UInt8] = [1]
        var address = self.address
        _ = withUnsafePointer(to: &address) { to in
            to.withMemoryRebound(to: sockaddr.self, capacity: 1) { to in
                byte.withUnsafeBytes { SocketCalls.sendTo(handle, $0, to, addressLength) }
            }
        }
    }

    /// Takes the wake-up bytes, so that the next wait waits again; on the poller's thread.
    func drain() {
        pending.withLock { $0 = false }
        // One datagram: `pending` lets at most one more come, which then wakes the next wait once for nothing.
        var scratch = [UInt8](repeating: 0, count: 16)
        _ = scratch.withUnsafeMutableBytes { SocketCalls.receive(handle, $0) }
    }
}
