#if os(Windows)
import WinSDK
#elseif canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#elseif canImport(Darwin)
import Darwin
#endif

/// A failed socket call, with the operation and the OS error code.
public struct SocketError: Error, CustomStringConvertible {
    public let operation: String
    public let code: Int32

    /// A receive timeout (`setReceiveTimeout`) ran out.
    public var isTimeout: Bool {
        #if os(Windows)
        return code == WSAETIMEDOUT
        #else
        return code == EAGAIN || code == EWOULDBLOCK
        #endif
    }

    /// The error a read gives when the receive timeout runs out.
    static func timedOut(_ operation: String) -> SocketError {
        #if os(Windows)
        return SocketError(operation: operation, code: Int32(WSAETIMEDOUT))
        #else
        return SocketError(operation: operation, code: EAGAIN)
        #endif
    }

    public var description: String {
        #if os(Windows)
        return "\(operation) failed (WSA error \(code))"
        #else
        return "\(operation) failed: \(String(cString: strerror(code))) (errno \(code))"
        #endif
    }
}

/// A blocking stream socket (TCP, or a Unix domain socket on Linux): every
/// stream-socket call of the product lives in this file, with its Windows
/// (Winsock) branch beside the POSIX one.
public final class StreamSocket: @unchecked Sendable {
    #if os(Windows)
    public typealias Handle = SOCKET
    private static let invalid = INVALID_SOCKET
    #else
    public typealias Handle = Int32
    private static let invalid: Int32 = -1
    #endif

    private let handle: Handle
    /// The remote address as `host:port` (`[v6]:port`), for log lines.
    public let peer: String
    #if os(Windows)
    /// `setReceiveTimeout` in milliseconds (0: none), which `awaitInput` waits with.
    private var receiveTimeoutMilliseconds: Int32 = 0
    #endif

    private init(handle: Handle, peer: String) {
        self.handle = handle
        self.peer = peer
    }

    deinit {
        closeHandle()
    }

    /// Binds and listens on `host:port`; port 0 lets the OS choose (see `localPort`).
    public static func listen(host: String, port: UInt16, backlog: Int32 = 1024) throws -> StreamSocket {
        try firstAddress(host: host, port: port, passive: true) { fd, entry in
            var on: Int32 = 1
            #if os(Windows)
            _ = setsockopt(fd, SOL_SOCKET, SO_EXCLUSIVEADDRUSE, withUnsafeBytes(of: &on) { $0.baseAddress!.assumingMemoryBound(to: CChar.self) }, Int32(MemoryLayout<Int32>.size))
            #else
            _ = setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &on, socklen_t(MemoryLayout<Int32>.size))
            #endif
            guard bind(fd, entry.ai_addr, addressLength(entry)) == 0 else { return "bind \(host):\(port)" }
            guard systemListen(fd, backlog) == 0 else { return "listen \(host):\(port)" }
            return nil
        }
    }

    /// Binds and listens on a Unix domain socket at `path` (replacing a stale one),
    /// readable and writable by the owner and group (`Unix_Perm` semantics: 0660).
    public static func listenUnix(path: String, permissions: UInt32 = 0o660, backlog: Int32 = 1024) throws -> StreamSocket {
        #if os(Windows)
        throw SocketError(operation: "Unix_Path \(path): Unix domain sockets are supported on Linux only", code: Int32(WSAEAFNOSUPPORT))
        #else
        var address = sockaddr_un()
        address.sun_family = sa_family_t(AF_UNIX)
        let capacity = MemoryLayout.size(ofValue: address.sun_path)
        guard path.utf8.count < capacity else {
            throw SocketError(operation: "Unix_Path \(path) is longer than \(capacity - 1) bytes", code: ENAMETOOLONG)
        }
        withUnsafeMutableBytes(of: &address.sun_path) { raw in
            raw.copyBytes(from: path.utf8)
            raw[path.utf8.count] = 0
        }
        #if canImport(Glibc)
        let fd = socket(AF_UNIX, Int32(SOCK_STREAM.rawValue), 0)
        #else
        let fd = socket(AF_UNIX, SOCK_STREAM, 0)
        #endif
        guard fd >= 0 else { throw SocketError(operation: "socket(AF_UNIX)", code: errno) }
        unlink(path)
        let bound = withUnsafePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { bind(fd, $0, socklen_t(MemoryLayout<sockaddr_un>.size)) }
        }
        guard bound == 0, chmod(path, mode_t(permissions)) == 0, systemListen(fd, backlog) == 0 else {
            let code = errno
            closeRaw(fd)
            throw SocketError(operation: "listening on \(path)", code: code)
        }
        return StreamSocket(handle: fd, peer: "unix:\(path)")
        #endif
    }

    /// Connects to `host:port` (used by `shipper cat` and tests).
    public static func connect(host: String, port: UInt16) throws -> StreamSocket {
        try firstAddress(host: host, port: port, passive: false) { fd, entry in
            systemConnect(fd, entry.ai_addr, addressLength(entry)) == 0 ? nil : "connect \(host):\(port)"
        }
    }

    /// `ai_addrlen` in the type bind and connect take (`size_t` against `int` on Windows).
    private static func addressLength(_ entry: addrinfo) -> socklen_t {
        socklen_t(entry.ai_addrlen)
    }

    /// Tries `setUp` on a new socket for each address `host:port` resolves to,
    /// and returns the first that works. `setUp` answers nil on success, or the
    /// operation that failed (the OS error code is read right after it).
    private static func firstAddress(host: String, port: UInt16, passive: Bool,
                                     _ setUp: (Handle, addrinfo) -> String?) throws -> StreamSocket {
        startNetworking()
        var info = try resolve(host: host, port: port, passive: passive)
        defer { freeaddrinfo(info) }
        var lastError = SocketError(operation: "resolving \(host)", code: 0)
        while let entry = info {
            info = entry.pointee.ai_next
            let fd = socket(entry.pointee.ai_family, entry.pointee.ai_socktype, entry.pointee.ai_protocol)
            guard fd != invalid else { lastError = SocketError(operation: "socket", code: lastErrorCode()); continue }
            guard let failed = setUp(fd, entry.pointee) else { return StreamSocket(handle: fd, peer: "\(host):\(port)") }
            lastError = SocketError(operation: failed, code: lastErrorCode())
            closeRaw(fd)
        }
        throw lastError
    }

    /// The OS handle, for TLS (OpenSSL drives the socket itself).
    public var descriptor: Handle { handle }

    /// The port this socket is bound to.
    public var localPort: UInt16 {
        var storage = sockaddr_storage()
        var length = socklen_t(MemoryLayout<sockaddr_storage>.size)
        let status = withUnsafeMutablePointer(to: &storage) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { getsockname(handle, $0, &length) }
        }
        guard status == 0 else { return 0 }
        return Self.describe(&storage).port
    }

    /// Waits for the next connection.
    public func accept() throws -> StreamSocket {
        while true {
            var storage = sockaddr_storage()
            var length = socklen_t(MemoryLayout<sockaddr_storage>.size)
            let fd = withUnsafeMutablePointer(to: &storage) {
                $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { systemAccept(handle, $0, &length) }
            }
            if fd == Self.invalid {
                let code = Self.lastErrorCode()
                if Self.isInterrupted(code) { continue }
                throw SocketError(operation: "accept", code: code)
            }
            if peer.hasPrefix("unix:") { return StreamSocket(handle: fd, peer: peer) }
            let address = Self.describe(&storage)
            return StreamSocket(handle: fd, peer: address.host.contains(":") ? "[\(address.host)]:\(address.port)" : "\(address.host):\(address.port)")
        }
    }

    /// Reads what is available into `buffer`; 0 means the peer closed the connection.
    public func read(into buffer: UnsafeMutableRawBufferPointer) throws -> Int {
        try awaitInput()
        while true {
            #if os(Windows)
            let n = Int(recv(handle, buffer.baseAddress?.assumingMemoryBound(to: CChar.self), Int32(min(buffer.count, Int(Int32.max))), 0))
            #else
            let n = recv(handle, buffer.baseAddress, buffer.count, 0)
            #endif
            if n >= 0 { return n }
            let code = Self.lastErrorCode()
            if Self.isInterrupted(code) { continue }
            throw SocketError(operation: "recv from \(peer)", code: code)
        }
    }

    /// Writes all of `bytes`.
    public func write(_ bytes: [UInt8]) throws {
        try bytes.withUnsafeBytes { raw in
            var offset = 0
            while offset < raw.count {
                #if os(Windows)
                let n = Int(send(handle, raw.baseAddress!.advanced(by: offset).assumingMemoryBound(to: CChar.self), Int32(raw.count - offset), 0))
                #else
                let n = send(handle, raw.baseAddress!.advanced(by: offset), raw.count - offset, Int32(MSG_NOSIGNAL))
                #endif
                if n < 0 {
                    let code = Self.lastErrorCode()
                    if Self.isInterrupted(code) { continue }
                    throw SocketError(operation: "send to \(peer)", code: code)
                }
                offset += n
            }
        }
    }

    /// Writes all of `bytes` if the socket can take them now, without waiting;
    /// `false` if it cannot (its send buffer is full: the peer is not reading),
    /// after which the stream may hold part of them and must be closed.
    ///
    /// For a thread that serves other clients too (the spool's writer sends
    /// acks): it must never block on one client's socket. On POSIX systems a
    /// send with MSG_DONTWAIT; Winsock has no such flag for a blocking socket,
    /// so there a poll for room (POLLWRNORM) comes first and a send as small as
    /// an ack then does not wait.
    public func writeWithoutWaiting(_ bytes: [UInt8]) throws -> Bool {
        #if os(Windows)
        var entry = pollfd(fd: handle, events: Int16(POLLWRNORM), revents: 0)
        guard WSAPoll(&entry, 1, 0) > 0 else { return false }
        try write(bytes)
        return true
        #else
        return try bytes.withUnsafeBytes { raw in
            var offset = 0
            while offset < raw.count {
                let n = send(handle, raw.baseAddress!.advanced(by: offset), raw.count - offset, Int32(MSG_NOSIGNAL) | Int32(MSG_DONTWAIT))
                if n < 0 {
                    let code = Self.lastErrorCode()
                    if Self.isInterrupted(code) { continue }
                    if code == EAGAIN || code == EWOULDBLOCK { return false }
                    throw SocketError(operation: "send to \(peer)", code: code)
                }
                offset += n
            }
            return true
        }
        #endif
    }

    /// Makes `read` fail with `SocketError.isTimeout` after `seconds` without data (0: wait forever).
    /// The socket stays usable: the next read goes on where this one stopped.
    public func setReceiveTimeout(_ seconds: Double) {
        #if os(Windows)
        // Not SO_RCVTIMEO: Winsock documents a socket whose blocking receive timed
        // out as being in an indeterminate state. `awaitInput` polls instead.
        receiveTimeoutMilliseconds = Int32((seconds * 1000).rounded(.up))
        #else
        setSystemReceiveTimeout(seconds)
        #endif
    }

    /// Makes every receive on the socket, OpenSSL's own included, fail after
    /// `seconds` without data (SO_RCVTIMEO on both systems). Only for a phase
    /// after whose timeout the connection is closed, such as the TLS handshake:
    /// Winsock leaves a socket whose receive timed out in an indeterminate state.
    public func setHandshakeReceiveTimeout(_ seconds: Double) {
        setSystemReceiveTimeout(seconds)
    }

    /// SO_RCVTIMEO, in each system's type: a DWORD of milliseconds on Windows, a timeval elsewhere.
    private func setSystemReceiveTimeout(_ seconds: Double) {
        #if os(Windows)
        var milliseconds = DWORD(seconds * 1000)
        _ = withUnsafeBytes(of: &milliseconds) {
            setsockopt(handle, SOL_SOCKET, SO_RCVTIMEO, $0.baseAddress!.assumingMemoryBound(to: CChar.self), Int32(MemoryLayout<DWORD>.size))
        }
        #else
        var value = timeval()
        value.tv_sec = .init(seconds.rounded(.down))
        value.tv_usec = .init((seconds - seconds.rounded(.down)) * 1_000_000)
        _ = setsockopt(handle, SOL_SOCKET, SO_RCVTIMEO, &value, socklen_t(MemoryLayout<timeval>.size))
        #endif
    }

    /// Waits, for at most the receive timeout, until a read would not block, and
    /// throws the timeout if none came. Nothing to do on POSIX systems, where
    /// SO_RCVTIMEO ends the read itself; on Windows this is the timeout (a WSAPoll
    /// before the read), so a read there costs two calls when a timeout is set.
    /// TLS calls it before reading, since OpenSSL reads the socket itself.
    public func awaitInput() throws {
        #if os(Windows)
        guard receiveTimeoutMilliseconds > 0 else { return }
        guard try poll(milliseconds: receiveTimeoutMilliseconds) else { throw SocketError.timedOut("recv from \(peer)") }
        #endif
    }

    /// Whether a read would return at once (bytes, the end of the stream, or an
    /// error): what a stop drains, and how the acceptor waits in short ticks.
    public func isReadable(within seconds: Double = 0) -> Bool {
        // A failed poll says yes: the read or accept that follows reports the error.
        (try? poll(milliseconds: Int32((seconds * 1000).rounded(.up)))) ?? true
    }

    /// Which of `sockets` a read (or accept) would not block on, waiting up to
    /// `seconds` for the first: one thread watching many quiet connections
    /// without a thread for each. A failed poll says every one is ready, so
    /// that the reads that follow report the error.
    public static func readable(_ sockets: [StreamSocket], within seconds: Double) -> [Bool] {
        guard !sockets.isEmpty else { return [] }
        var entries = sockets.map { inputEntry($0.handle) }
        do {
            _ = try entries.withUnsafeMutableBufferPointer { try pollInput($0, milliseconds: Int32((seconds * 1000).rounded(.up)), what: "poll") }
        } catch {
            return sockets.map { _ in true }
        }
        return entries.map { $0.revents != 0 }
    }

    /// One poll of this socket for input, without an array: on Windows it comes before every timed read.
    private func poll(milliseconds: Int32) throws -> Bool {
        var entry = Self.inputEntry(handle)
        return try withUnsafeMutablePointer(to: &entry) {
            try Self.pollInput(UnsafeMutableBufferPointer(start: $0, count: 1), milliseconds: milliseconds, what: "poll \(peer)")
        } > 0
    }

    /// What to poll a handle with for input: POLLIN, or POLLRDNORM with WSAPoll, which accepts no other read flag.
    private static func inputEntry(_ handle: Handle) -> pollfd {
        #if os(Windows)
        return pollfd(fd: handle, events: Int16(POLLRDNORM), revents: 0)
        #else
        return pollfd(fd: handle, events: Int16(POLLIN), revents: 0)
        #endif
    }

    /// Polls `entries`, retrying when interrupted; returns how many are ready.
    private static func pollInput(_ entries: UnsafeMutableBufferPointer<pollfd>, milliseconds: Int32, what: @autoclosure () -> String) throws -> Int32 {
        while true {
            #if os(Windows)
            let ready = WSAPoll(entries.baseAddress, ULONG(entries.count), milliseconds)
            #else
            let ready = systemPoll(entries.baseAddress!, nfds_t(entries.count), milliseconds)
            #endif
            if ready >= 0 { return ready }
            let code = lastErrorCode()
            if isInterrupted(code) { continue }
            throw SocketError(operation: what(), code: code)
        }
    }

    /// Ends the sending direction only (a FIN after what was sent); reads go on.
    /// A stop says goodbye this way: a client that checks for it stops sending and
    /// resends elsewhere, and what it sent meanwhile is still read, not reset.
    public func shutdownSending() {
        #if os(Windows)
        _ = WinSDK.shutdown(handle, SD_SEND)
        #else
        _ = systemShutdown(handle, Int32(SHUT_WR))
        #endif
    }

    /// Makes the close abortive (SO_LINGER with a zero timeout): it sends a reset
    /// instead of a FIN. A client that never reads (Docker's driver without acks)
    /// learns of a FIN only when a later write fails, so the first line it writes
    /// after a graceful close vanishes; after a reset, that write itself fails,
    /// and the client sends the line again on a new connection.
    public func resetOnClose() {
        #if os(Windows)
        var value = linger(l_onoff: 1, l_linger: 0)
        _ = withUnsafeBytes(of: &value) {
            setsockopt(handle, SOL_SOCKET, SO_LINGER, $0.baseAddress!.assumingMemoryBound(to: CChar.self), Int32(MemoryLayout<linger>.size))
        }
        #else
        var value = linger(l_onoff: 1, l_linger: 0)
        _ = setsockopt(handle, SOL_SOCKET, SO_LINGER, &value, socklen_t(MemoryLayout<linger>.size))
        #endif
    }

    /// Stops both directions; a thread blocked in `read` or `write` wakes up.
    public func shutdown() {
        #if os(Windows)
        _ = WinSDK.shutdown(handle, SD_BOTH)
        #else
        _ = systemShutdown(handle, Int32(SHUT_RDWR))
        #endif
    }

    /// Closes the handle now rather than when the socket is released; no other
    /// thread may be using it (a listener's, once its acceptor has returned).
    public func close() {
        closeHandle()
    }

    private var closed = false
    private func closeHandle() {
        guard !closed else { return }
        closed = true
        Self.closeRaw(handle)
    }

    // MARK: - Platform helpers

    private static func resolve(host: String, port: UInt16, passive: Bool) throws -> UnsafeMutablePointer<addrinfo>? {
        var hints = addrinfo()
        hints.ai_family = AF_UNSPEC
        #if os(Windows)
        hints.ai_socktype = SOCK_STREAM
        hints.ai_protocol = Int32(IPPROTO_TCP.rawValue)
        #elseif canImport(Glibc)
        hints.ai_socktype = Int32(SOCK_STREAM.rawValue)
        hints.ai_protocol = Int32(IPPROTO_TCP)
        #else
        hints.ai_socktype = SOCK_STREAM
        hints.ai_protocol = Int32(IPPROTO_TCP)
        #endif
        hints.ai_flags = passive ? AI_PASSIVE : 0
        var result: UnsafeMutablePointer<addrinfo>?
        let status = getaddrinfo(host.isEmpty ? nil : host, String(port), &hints, &result)
        guard status == 0 else {
            throw SocketError(operation: "resolving \(host)", code: status)
        }
        return result
    }

    private static func describe(_ storage: inout sockaddr_storage) -> (host: String, port: UInt16) {
        var hostBuffer = [CChar](repeating: 0, count: 64)
        var portBuffer = [CChar](repeating: 0, count: 16)
        let length = socklen_t(storage.ss_family == sa_family_t(AF_INET6) ? MemoryLayout<sockaddr_in6>.size : MemoryLayout<sockaddr_in>.size)
        let status = withUnsafePointer(to: &storage) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) {
                getnameinfo($0, length, &hostBuffer, socklen_t(hostBuffer.count), &portBuffer, socklen_t(portBuffer.count), NI_NUMERICHOST | NI_NUMERICSERV)
            }
        }
        guard status == 0 else { return ("?", 0) }
        return (String(cString: hostBuffer), UInt16(String(cString: portBuffer)) ?? 0)
    }

    private static func closeRaw(_ fd: Handle) {
        #if os(Windows)
        _ = closesocket(fd)
        #else
        _ = systemClose(fd)
        #endif
    }

    private static func lastErrorCode() -> Int32 {
        #if os(Windows)
        return WSAGetLastError()
        #else
        return errno
        #endif
    }

    private static func isInterrupted(_ code: Int32) -> Bool {
        #if os(Windows)
        return code == WSAEINTR
        #else
        return code == EINTR
        #endif
    }

    /// Winsock must be started once per process; POSIX needs nothing.
    private static func startNetworking() {
        #if os(Windows)
        _ = winsockStarted
        #endif
    }

    #if os(Windows)
    private static let winsockStarted: Bool = {
        var data = WSADATA()
        return WSAStartup(0x0202, &data) == 0
    }()
    #endif
}

#if os(Windows)
private func systemListen(_ fd: SOCKET, _ backlog: Int32) -> Int32 { WinSDK.listen(fd, backlog) }
private func systemAccept(_ fd: SOCKET, _ address: UnsafeMutablePointer<sockaddr>, _ length: UnsafeMutablePointer<socklen_t>) -> SOCKET { WinSDK.accept(fd, address, length) }
private func systemConnect(_ fd: SOCKET, _ address: UnsafeMutablePointer<sockaddr>?, _ length: socklen_t) -> Int32 { WinSDK.connect(fd, address, length) }
#else
private func systemListen(_ fd: Int32, _ backlog: Int32) -> Int32 { listen(fd, backlog) }
private func systemAccept(_ fd: Int32, _ address: UnsafeMutablePointer<sockaddr>, _ length: UnsafeMutablePointer<socklen_t>) -> Int32 { accept(fd, address, length) }
private func systemConnect(_ fd: Int32, _ address: UnsafeMutablePointer<sockaddr>?, _ length: socklen_t) -> Int32 { connect(fd, address, length) }
private func systemShutdown(_ fd: Int32, _ how: Int32) -> Int32 { shutdown(fd, how) }
private func systemPoll(_ entry: UnsafeMutablePointer<pollfd>, _ count: nfds_t, _ milliseconds: Int32) -> Int32 { poll(entry, count, milliseconds) }
private func systemClose(_ fd: Int32) -> Int32 { close(fd) }
#endif
