#if os(Windows)
import WinSDK
#elseif canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#elseif canImport(Darwin)
import Darwin
#endif

/// A socket address as numbers (getnameinfo with NI_NUMERICHOST and
/// NI_NUMERICSERV): never a DNS lookup, so a log line cannot wait on one.
struct NumericAddress: CustomStringConvertible {
    let host: String
    let port: UInt16

    init(_ storage: inout sockaddr_storage) {
        var hostBuffer = [CChar](repeating: 0, count: 64)
        var portBuffer = [CChar](repeating: 0, count: 16)
        let length = socklen_t(Int32(storage.ss_family) == AF_INET6 ? MemoryLayout<sockaddr_in6>.size : MemoryLayout<sockaddr_in>.size)
        let status = withUnsafePointer(to: &storage) { address in
            address.withMemoryRebound(to: sockaddr.self, capacity: 1) { address in
                hostBuffer.withUnsafeMutableBufferPointer { host in
                    portBuffer.withUnsafeMutableBufferPointer { port in
                        SocketCalls.numericName(address, length, host: host, port: port)
                    }
                }
            }
        }
        guard status == 0 else {
            (host, port) = ("?", 0)
            return
        }
        host = String(decoding: hostBuffer.prefix { $0 != 0 }.map { UInt8(bitPattern: $0) }, as: UTF8.self)
        port = UInt16(String(decoding: portBuffer.prefix { $0 != 0 }.map { UInt8(bitPattern: $0) }, as: UTF8.self)) ?? 0
    }

    /// `host:port`, or `[host]:port` for IPv6.
    var description: String {
        host.contains(":") ? "[\(host)]:\(port)" : "\(host):\(port)"
    }
}
