#if os(Windows)
import WinSDK
#elseif canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#elseif canImport(Darwin)
import Darwin
#endif

/// A UDP socket for the heartbeats Fluentd forwarders send to the forward
/// port, written against `SocketCalls` like `StreamSocket`.
// Safe to share: `handle` never changes; one thread answers, and `stop` only shuts and closes the handle.
public final class DatagramSocket: @unchecked Sendable {
    private let handle: SocketCalls.Handle

    /// Binds UDP on `host:port`.
    public init(host: String, port: UInt16) throws {
        let addresses = try ResolvedAddresses(host: host, port: port, datagram: true, passive: true)
        guard let entry = addresses.first(where: { _ in true }) else {
            throw SocketError(operation: "resolving \(host) for UDP", code: 0)
        }
        let handle = SocketCalls.openSocket(entry)
        guard handle != SocketCalls.invalidHandle else { throw SocketError(operation: "socket(UDP)", code: SocketCalls.lastError()) }
        guard SocketCalls.bindAddress(handle, entry) == 0 else {
            let code = SocketCalls.lastError()
            SocketCalls.closeHandle(handle)
            throw SocketError(operation: "bind UDP \(host):\(port)", code: code)
        }
        SocketCalls.ignoreDatagramResets(handle)
        self.handle = handle
    }

    /// Answers every datagram with one zero byte, as Fluentd's in_forward does, until `stop()`.
    public func answerHeartbeats() {
        var buffer = [UInt8](repeating: 0, count: 1024)
        let reply: [UInt8] = [0]
        while true {
            var storage = sockaddr_storage()
            var length = socklen_t(MemoryLayout<sockaddr_storage>.size)
            let received = withUnsafeMutablePointer(to: &storage) { address in
                address.withMemoryRebound(to: sockaddr.self, capacity: 1) { from in
                    buffer.withUnsafeMutableBytes { SocketCalls.receiveFrom(handle, $0, from, &length) }
                }
            }
            if received < 0 {
                if SocketCalls.datagramErrorIsTransient(SocketCalls.lastError()) { continue }
                return
            }
            _ = withUnsafePointer(to: &storage) { address in
                address.withMemoryRebound(to: sockaddr.self, capacity: 1) { to in
                    reply.withUnsafeBytes { SocketCalls.sendTo(handle, $0, to, length) }
                }
            }
        }
    }

    /// Ends `answerHeartbeats()`: a shutdown wakes its wait on POSIX systems, the close on Windows.
    public func stop() {
        SocketCalls.shutdownHandle(handle, .both)
        SocketCalls.closeHandle(handle)
    }
}
