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
/// port: every datagram call of the product lives in this file.
final class DatagramSocket: @unchecked Sendable {
    #if os(Windows)
    typealias Handle = SOCKET
    #else
    typealias Handle = Int32
    #endif

    private let handle: Handle

    /// Binds UDP on `host:port`.
    init(host: String, port: UInt16) throws {
        var hints = addrinfo()
        hints.ai_family = AF_UNSPEC
        #if os(Windows)
        hints.ai_socktype = SOCK_DGRAM
        #elseif canImport(Glibc)
        hints.ai_socktype = Int32(SOCK_DGRAM.rawValue)
        #else
        hints.ai_socktype = SOCK_DGRAM
        #endif
        hints.ai_flags = AI_PASSIVE
        var info: UnsafeMutablePointer<addrinfo>?
        guard getaddrinfo(host, String(port), &hints, &info) == 0, let entry = info else {
            throw SocketError(operation: "resolving \(host) for UDP", code: 0)
        }
        defer { freeaddrinfo(info) }
        let fd = socket(entry.pointee.ai_family, entry.pointee.ai_socktype, entry.pointee.ai_protocol)
        #if os(Windows)
        guard fd != INVALID_SOCKET else { throw SocketError(operation: "socket(UDP)", code: WSAGetLastError()) }
        guard bind(fd, entry.pointee.ai_addr, Int32(entry.pointee.ai_addrlen)) == 0 else {
            let code = WSAGetLastError()
            closesocket(fd)
            throw SocketError(operation: "bind UDP \(host):\(port)", code: code)
        }
        #else
        guard fd >= 0 else { throw SocketError(operation: "socket(UDP)", code: errno) }
        guard bind(fd, entry.pointee.ai_addr, entry.pointee.ai_addrlen) == 0 else {
            let code = errno
            close(fd)
            throw SocketError(operation: "bind UDP \(host):\(port)", code: code)
        }
        #endif
        handle = fd
    }

    /// Answers every datagram with one zero byte, as Fluentd's in_forward does, until `close()`.
    func answerHeartbeats() {
        var buffer = [UInt8](repeating: 0, count: 1024)
        var reply: UInt8 = 0
        while true {
            var storage = sockaddr_storage()
            var length = socklen_t(MemoryLayout<sockaddr_storage>.size)
            let received = withUnsafeMutablePointer(to: &storage) { address in
                address.withMemoryRebound(to: sockaddr.self, capacity: 1) { from in
                    buffer.withUnsafeMutableBytes { raw in
                        #if os(Windows)
                        return Int(recvfrom(handle, raw.baseAddress?.assumingMemoryBound(to: CChar.self), Int32(raw.count), 0, from, &length))
                        #else
                        return recvfrom(handle, raw.baseAddress, raw.count, 0, from, &length)
                        #endif
                    }
                }
            }
            if received < 0 { return }
            _ = withUnsafePointer(to: &storage) { address in
                address.withMemoryRebound(to: sockaddr.self, capacity: 1) { to in
                    #if os(Windows)
                    return Int(withUnsafePointer(to: &reply) { sendto(handle, UnsafeRawPointer($0).assumingMemoryBound(to: CChar.self), 1, 0, to, length) })
                    #else
                    return sendto(handle, &reply, 1, 0, to, length)
                    #endif
                }
            }
        }
    }

    /// Ends `answerHeartbeats()`.
    func stop() {
        #if os(Windows)
        _ = shutdown(handle, SD_BOTH)
        closesocket(handle)
        #else
        _ = shutdown(handle, Int32(SHUT_RDWR))
        _ = close(handle)
        #endif
    }
}
