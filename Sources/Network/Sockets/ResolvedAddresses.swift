#if os(Windows)
import WinSDK
#elseif canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#elseif canImport(Darwin)
import Darwin
#endif

/// The addresses `host:port` resolves to (getaddrinfo), in the order to try
/// them; the list is freed, from its head, when the last reference goes.
final class ResolvedAddresses: Sequence {
    private let head: UnsafeMutablePointer<addrinfo>?

    /// Resolves `host` (empty: every local address, for a passive socket) for TCP or UDP.
    init(host: String, port: UInt16, datagram: Bool, passive: Bool) throws {
        SocketCalls.startNetworking()
        var hints = SocketCalls.hints(datagram: datagram, passive: passive)
        var result: UnsafeMutablePointer<addrinfo>?
        let status = getaddrinfo(host.isEmpty ? nil : host, String(port), &hints, &result)
        guard status == 0 else { throw SocketError(operation: "resolving \(host)", code: status) }
        head = result
    }

    deinit {
        if let head { freeaddrinfo(head) }
    }

    struct Iterator: IteratorProtocol {
        /// Keeps the list alive while it is walked.
        let addresses: ResolvedAddresses
        var current: UnsafeMutablePointer<addrinfo>?

        mutating func next() -> addrinfo? {
            guard let entry = current else { return nil }
            current = entry.pointee.ai_next
            return entry.pointee
        }
    }

    func makeIterator() -> Iterator {
        Iterator(addresses: self, current: head)
    }
}
