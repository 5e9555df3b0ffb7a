#if !os(Windows)
#if os(Linux)
import CEpoll
#endif
#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#elseif canImport(Darwin)
import Darwin
#endif

/// The POSIX side of `SocketCalls`: file descriptors, errno, poll(2).
extension SocketCalls {
    typealias Handle = Int32
    static let invalidHandle: Handle = -1

    /// POSIX sockets need no start.
    static func startNetworking() {}

    static func lastError() -> Int32 { errno }
    static func isInterrupted(_ code: Int32) -> Bool { code == EINTR }
    static func wouldBlock(_ code: Int32) -> Bool { code == EAGAIN || code == EWOULDBLOCK }
    /// The error a read gives when SO_RCVTIMEO ran out.
    static let timeoutCode: Int32 = EAGAIN
    static func isTimeout(_ code: Int32) -> Bool { wouldBlock(code) }
    static func describe(_ code: Int32) -> String { "\(String(cString: strerror(code))) (errno \(code))" }
    static let addressFamilyNotSupported: Int32 = EAFNOSUPPORT
    static let nameTooLong: Int32 = ENAMETOOLONG

    /// SO_RCVTIMEO ends a blocked read here and leaves the socket usable, so a
    /// receive timeout is the socket option itself, not a poll before each read.
    static let receiveTimeoutNeedsPoll = false

    static func hints(datagram: Bool, passive: Bool) -> addrinfo {
        var hints = addrinfo()
        hints.ai_family = AF_UNSPEC
        #if canImport(Glibc)
        hints.ai_socktype = Int32((datagram ? SOCK_DGRAM : SOCK_STREAM).rawValue)
        #else
        hints.ai_socktype = datagram ? SOCK_DGRAM : SOCK_STREAM
        #endif
        hints.ai_protocol = datagram ? 0 : Int32(IPPROTO_TCP)
        hints.ai_flags = passive ? AI_PASSIVE : 0
        return hints
    }

    static func openSocket(_ entry: addrinfo) -> Handle {
        socket(entry.ai_family, entry.ai_socktype, entry.ai_protocol)
    }

    /// SO_REUSEADDR: a restarted shipper binds its port again at once, while
    /// the previous process's connections are in TIME_WAIT.
    static func allowQuickRebind(_ handle: Handle) {
        var on: Int32 = 1
        _ = setsockopt(handle, SOL_SOCKET, SO_REUSEADDR, &on, socklen_t(MemoryLayout<Int32>.size))
    }

    static func bindAddress(_ handle: Handle, _ entry: addrinfo) -> Int32 {
        bind(handle, entry.ai_addr, entry.ai_addrlen)
    }

    static func startListening(_ handle: Handle, backlog: Int32) -> Int32 {
        listen(handle, backlog)
    }

    static func connectAddress(_ handle: Handle, _ entry: addrinfo) -> Int32 {
        connect(handle, entry.ai_addr, entry.ai_addrlen)
    }

    static func acceptConnection(_ handle: Handle, _ address: UnsafeMutablePointer<sockaddr>, _ length: UnsafeMutablePointer<socklen_t>) -> Handle {
        accept(handle, address, length)
    }

    /// O_NONBLOCK on or off (fcntl).
    static func setBlocking(_ handle: Handle, _ blocking: Bool) {
        let flags = fcntl(handle, F_GETFL)
        guard flags >= 0 else { return }
        _ = fcntl(handle, F_SETFL, blocking ? flags & ~O_NONBLOCK : flags | O_NONBLOCK)
    }

    /// An `accept` that found no connection after all: none pending on a
    /// non-blocking listener, or one that was reset while it waited in the backlog.
    static func acceptFoundNone(_ code: Int32) -> Bool {
        wouldBlock(code) || code == ECONNABORTED
    }

    static func localAddress(_ handle: Handle, _ address: UnsafeMutablePointer<sockaddr>, _ length: UnsafeMutablePointer<socklen_t>) -> Int32 {
        getsockname(handle, address, length)
    }

    static func numericName(_ address: UnsafePointer<sockaddr>, _ length: socklen_t,
                            host: UnsafeMutableBufferPointer<CChar>, port: UnsafeMutableBufferPointer<CChar>) -> Int32 {
        getnameinfo(address, length, host.baseAddress, socklen_t(host.count), port.baseAddress, socklen_t(port.count), NI_NUMERICHOST | NI_NUMERICSERV)
    }

    static func receive(_ handle: Handle, _ buffer: UnsafeMutableRawBufferPointer) -> Int {
        recv(handle, buffer.baseAddress, buffer.count, 0)
    }

    /// Sends what the socket takes; on a socket made non-blocking it fails
    /// with `wouldBlock` when the send buffer is full, instead of waiting.
    /// MSG_NOSIGNAL: a peer that went away is an error, not SIGPIPE.
    static func sendBytes(_ handle: Handle, _ bytes: UnsafeRawBufferPointer) -> Int {
        send(handle, bytes.baseAddress, bytes.count, Int32(MSG_NOSIGNAL))
    }

    static func receiveFrom(_ handle: Handle, _ buffer: UnsafeMutableRawBufferPointer,
                            _ address: UnsafeMutablePointer<sockaddr>, _ length: UnsafeMutablePointer<socklen_t>) -> Int {
        recvfrom(handle, buffer.baseAddress, buffer.count, 0, address, length)
    }

    static func sendTo(_ handle: Handle, _ bytes: UnsafeRawBufferPointer, _ address: UnsafePointer<sockaddr>, _ length: socklen_t) -> Int {
        sendto(handle, bytes.baseAddress, bytes.count, 0, address, length)
    }

    /// What to poll a handle with for input.
    static let inputEvents = Int16(POLLIN)
    /// What to poll a handle with for room to send.
    static let outputEvents = Int16(POLLOUT)
    /// What poll reports, asked or not, when a handle failed or its peer hung up.
    static let failureEvents = Int16(POLLERR | POLLHUP | POLLNVAL)

    static func pollEntries(_ entries: UnsafeMutableBufferPointer<pollfd>, milliseconds: Int32) -> Int32 {
        poll(entries.baseAddress!, nfds_t(entries.count), milliseconds)
    }

    #if os(Linux)
    /// epoll(7), which `ReadinessPoller` uses on Linux: readiness in proportion
    /// to the sockets that are ready, not to the sockets watched.
    typealias EpollEvent = epoll_event

    static let epollInput = EPOLLIN.rawValue
    static let epollOutput = EPOLLOUT.rawValue
    /// What epoll reports, asked or not, when a handle failed or its peer hung up.
    static let epollFailure = EPOLLERR.rawValue | EPOLLHUP.rawValue

    static func epollCreate() -> Handle {
        epoll_create1(Int32(EPOLL_CLOEXEC))
    }

    /// Adds `handle` to the set for `events` with `tag`, or removes it (`events` nil).
    static func epollSet(_ epoll: Handle, _ handle: Handle, existing: Bool, events: UInt32?, tag: UInt64) -> Int32 {
        var event = epoll_event()
        event.events = events ?? 0
        event.data.u64 = tag
        let operation = events == nil ? EPOLL_CTL_DEL : existing ? EPOLL_CTL_MOD : EPOLL_CTL_ADD
        return epoll_ctl(epoll, operation, handle, &event)
    }

    static func epollWait(_ epoll: Handle, _ events: UnsafeMutableBufferPointer<epoll_event>, milliseconds: Int32) -> Int32 {
        epoll_wait(epoll, events.baseAddress, Int32(events.count), milliseconds)
    }

    static func epollTag(_ event: epoll_event) -> (tag: UInt64, events: UInt32) {
        (event.data.u64, event.events)
    }

    /// An eventfd(2) counter, non-blocking: what wakes an epoll wait at the cost of one small write.
    static func openEventCounter() -> Handle {
        eventfd(0, Int32(EFD_NONBLOCK | EFD_CLOEXEC))
    }

    /// Adds one to the counter, making it readable.
    static func incrementEventCounter(_ handle: Handle) {
        var one: UInt64 = 1
        _ = write(handle, &one, MemoryLayout<UInt64>.size)
    }

    /// Takes the counter back to zero.
    static func resetEventCounter(_ handle: Handle) {
        var value: UInt64 = 0
        _ = read(handle, &value, MemoryLayout<UInt64>.size)
    }
    #endif

    /// SO_RCVTIMEO as a timeval; 0 waits forever.
    static func setReceiveTimeout(_ handle: Handle, seconds: Double) {
        setTimeout(handle, SO_RCVTIMEO, seconds: seconds)
    }

    /// SO_SNDTIMEO as a timeval; 0 waits forever.
    static func setSendTimeout(_ handle: Handle, seconds: Double) {
        setTimeout(handle, SO_SNDTIMEO, seconds: seconds)
    }

    private static func setTimeout(_ handle: Handle, _ option: Int32, seconds: Double) {
        var value = timeval()
        value.tv_sec = .init(seconds.rounded(.down))
        value.tv_usec = .init((seconds - seconds.rounded(.down)) * 1_000_000)
        _ = setsockopt(handle, SOL_SOCKET, option, &value, socklen_t(MemoryLayout<timeval>.size))
    }

    /// A non-blocking `connect` that goes on in the background.
    static func connectInProgress(_ code: Int32) -> Bool { code == EINPROGRESS }

    /// Waits up to `milliseconds` for a background `connect` to end, as room to write
    /// (or an error): > 0 when it ended, 0 at the timeout, < 0 on failure (`lastError`).
    static func waitForConnect(_ handle: Handle, milliseconds: Int32) -> Int32 {
        var entry = pollfd(fd: handle, events: Int16(POLLOUT), revents: 0)
        return poll(&entry, 1, milliseconds)
    }

    /// The error a background `connect` ended with (SO_ERROR): 0 when it connected.
    static func pendingError(_ handle: Handle) -> Int32 {
        var code: Int32 = 0
        var length = socklen_t(MemoryLayout<Int32>.size)
        return getsockopt(handle, SOL_SOCKET, SO_ERROR, &code, &length) == 0 ? code : errno
    }

    /// SO_SNDBUF: a fixed send buffer, which also turns the kernel's growing of it off (Linux doubles the value asked for).
    static func setSendBufferSize(_ handle: Handle, bytes: Int32) {
        var value = bytes
        _ = setsockopt(handle, SOL_SOCKET, SO_SNDBUF, &value, socklen_t(MemoryLayout<Int32>.size))
    }

    /// SO_LINGER with a zero timeout: the close sends a reset.
    static func setAbortiveClose(_ handle: Handle) {
        var value = linger(l_onoff: 1, l_linger: 0)
        _ = setsockopt(handle, SOL_SOCKET, SO_LINGER, &value, socklen_t(MemoryLayout<linger>.size))
    }

    /// Resets a connected TCP socket now and leaves its handle open: `connect`
    /// to an address of family AF_UNSPEC dissolves the association, and Linux
    /// sends the peer a reset as it does so. A Unix domain socket, or a system
    /// without it, refuses; the abortive close (`setAbortiveClose`) is then what resets.
    static func resetConnection(_ handle: Handle) {
        var address = sockaddr()
        address.sa_family = sa_family_t(AF_UNSPEC)
        _ = connect(handle, &address, socklen_t(MemoryLayout<sockaddr>.size))
    }

    static func shutdownHandle(_ handle: Handle, _ direction: Direction) {
        _ = shutdown(handle, Int32(direction == .sending ? SHUT_WR : SHUT_RDWR))
    }

    static func closeHandle(_ handle: Handle) {
        _ = close(handle)
    }

    /// A listening Unix domain socket at `path` (a stale one replaced), with `permissions`.
    static func listenUnix(path: String, permissions: UInt32, backlog: Int32) throws -> Handle {
        var address = sockaddr_un()
        address.sun_family = sa_family_t(AF_UNIX)
        let capacity = MemoryLayout.size(ofValue: address.sun_path)
        guard path.utf8.count < capacity else {
            throw SocketError(operation: "Unix_Path \(path) is longer than \(capacity - 1) bytes", code: nameTooLong)
        }
        withUnsafeMutableBytes(of: &address.sun_path) { raw in
            raw.copyBytes(from: path.utf8)
            raw[path.utf8.count] = 0
        }
        #if canImport(Glibc)
        let handle = socket(AF_UNIX, Int32(SOCK_STREAM.rawValue), 0)
        #else
        let handle = socket(AF_UNIX, SOCK_STREAM, 0)
        #endif
        guard handle >= 0 else { throw SocketError(operation: "socket(AF_UNIX)", code: errno) }
        unlink(path)
        let bound = withUnsafePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { bind(handle, $0, socklen_t(MemoryLayout<sockaddr_un>.size)) }
        }
        guard bound == 0, chmod(path, mode_t(permissions)) == 0, listen(handle, backlog) == 0 else {
            let code = errno
            closeHandle(handle)
            throw SocketError(operation: "listening on \(path)", code: code)
        }
        return handle
    }

    /// POSIX reports no ICMP errors on an unconnected UDP socket: nothing to turn off.
    static func ignoreDatagramResets(_ handle: Handle) {}

    /// An unconnected UDP socket's `recvfrom` fails only when the socket is closed.
    static func datagramErrorIsTransient(_ code: Int32) -> Bool { code == EINTR }
}
#endif
