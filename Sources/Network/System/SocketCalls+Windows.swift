#if os(Windows)
import WinSDK

/// winsock2.h: `#define SO_EXCLUSIVEADDRUSE ((int)(~SO_REUSEADDR))`, a cast macro Swift does not import.
private let SO_EXCLUSIVEADDRUSE: Int32 = ~SO_REUSEADDR

/// winsock.h: `#define FIONBIO _IOW('f', 126, u_long)`, that is IOC_IN (0x8000_0000) | sizeof(u_long) << 16
/// | 'f' << 8 | 126, a function-like macro Swift does not import. Defined here rather than taken
/// from the WinSDK overlay, whose `FIONBIO` was 0x4667e (IOC_IN missing) in older toolchains
/// (swiftlang/swift, stdlib/public/Windows/WinSDK.swift; newer ones say `Int32(bitPattern: 0x8004667e)`);
/// its own name, so that the overlay's cannot be the one picked.
private let FIONBIO_IOW: Int32 = Int32(bitPattern: 0x8004_667E)

/// The Winsock side of `SocketCalls`. Every call is written against its
/// WinSDK declaration: buffers are `char *` with `int` lengths, option values
/// `const char *`, `getnameinfo` takes `DWORD` buffer sizes, and there is no
/// `sa_family_t` (the address family is `ADDRESS_FAMILY`).
extension SocketCalls {
    typealias Handle = SOCKET
    /// The overlay defines it (the C macro is a cast, which does not import).
    static let invalidHandle: Handle = INVALID_SOCKET

    /// Winsock 2.2, started once per process (WSAStartup is reference counted; it is never cleaned up).
    static func startNetworking() {
        _ = winsockStarted
    }

    private static let winsockStarted: Bool = {
        var data = WSADATA()
        return WSAStartup(0x0202, &data) == 0
    }()

    static func lastError() -> Int32 { WSAGetLastError() }
    static func isInterrupted(_ code: Int32) -> Bool { code == WSAEINTR }
    static func wouldBlock(_ code: Int32) -> Bool { code == WSAEWOULDBLOCK }
    static let timeoutCode: Int32 = WSAETIMEDOUT
    static func isTimeout(_ code: Int32) -> Bool { code == WSAETIMEDOUT }
    static func describe(_ code: Int32) -> String { "WSA error \(code)" }
    static let addressFamilyNotSupported: Int32 = WSAEAFNOSUPPORT
    static let nameTooLong: Int32 = WSAENAMETOOLONG

    /// Winsock documents a socket whose blocking receive timed out (SO_RCVTIMEO)
    /// as being in an indeterminate state, so a receive timeout that the
    /// connection survives is a WSAPoll before each read instead.
    static let receiveTimeoutNeedsPoll = true

    static func hints(datagram: Bool, passive: Bool) -> addrinfo {
        var hints = addrinfo()
        hints.ai_family = AF_UNSPEC
        hints.ai_socktype = datagram ? SOCK_DGRAM : SOCK_STREAM
        hints.ai_protocol = datagram ? 0 : Int32(IPPROTO_TCP.rawValue)
        hints.ai_flags = passive ? AI_PASSIVE : 0
        return hints
    }

    static func openSocket(_ entry: addrinfo) -> Handle {
        socket(entry.ai_family, entry.ai_socktype, entry.ai_protocol)
    }

    /// SO_EXCLUSIVEADDRUSE, not SO_REUSEADDR: on Windows SO_REUSEADDR lets a
    /// second process bind the same port and steal connections. Rebinding after
    /// a restart needs nothing there.
    static func allowQuickRebind(_ handle: Handle) {
        var on: Int32 = 1
        _ = withUnsafeBytes(of: &on) {
            setsockopt(handle, SOL_SOCKET, SO_EXCLUSIVEADDRUSE, $0.baseAddress!.assumingMemoryBound(to: CChar.self), Int32($0.count))
        }
    }

    /// `int bind(SOCKET, const sockaddr *, int)`; `ai_addrlen` is a `size_t`.
    static func bindAddress(_ handle: Handle, _ entry: addrinfo) -> Int32 {
        bind(handle, entry.ai_addr, Int32(entry.ai_addrlen))
    }

    static func startListening(_ handle: Handle, backlog: Int32) -> Int32 {
        listen(handle, backlog)
    }

    static func connectAddress(_ handle: Handle, _ entry: addrinfo) -> Int32 {
        connect(handle, entry.ai_addr, Int32(entry.ai_addrlen))
    }

    /// `SOCKET accept(SOCKET, sockaddr *, int *)`; `socklen_t` is `int` in ws2tcpip.h.
    static func acceptConnection(_ handle: Handle, _ address: UnsafeMutablePointer<sockaddr>, _ length: UnsafeMutablePointer<socklen_t>) -> Handle {
        accept(handle, address, length)
    }

    /// An accepted socket inherits the mode of its listener here. `setBlocking` does not throw (the
    /// socket types call it as the POSIX side's `fcntl`); a socket left in the other mode would hang
    /// an event loop in a `send` or `recv` or fail blocking reads with WSAEWOULDBLOCK, so a failure stops the
    /// process here with the call's error rather than going on unseen.
    static func setBlocking(_ handle: Handle, _ blocking: Bool) {
        do {
            try setBlockingMode(handle, blocking)
        } catch {
            preconditionFailure("\(error)")
        }
    }

    /// `int ioctlsocket(SOCKET, long, u_long *)` with FIONBIO: 0, or SOCKET_ERROR and WSAGetLastError().
    static func setBlockingMode(_ handle: Handle, _ blocking: Bool) throws(SocketError) {
        var nonBlocking: u_long = blocking ? 0 : 1
        guard ioctlsocket(handle, FIONBIO_IOW, &nonBlocking) == 0 else {
            throw SocketError(operation: "ioctlsocket(FIONBIO, \(blocking ? "blocking" : "non-blocking"))", code: WSAGetLastError())
        }
    }

    /// An `accept` that found no connection after all: none pending on a
    /// non-blocking listener, or one that was reset while it waited in the backlog.
    static func acceptFoundNone(_ code: Int32) -> Bool {
        code == WSAEWOULDBLOCK || code == WSAECONNRESET
    }

    static func localAddress(_ handle: Handle, _ address: UnsafeMutablePointer<sockaddr>, _ length: UnsafeMutablePointer<socklen_t>) -> Int32 {
        getsockname(handle, address, length)
    }

    /// `INT getnameinfo(const SOCKADDR *, socklen_t, PCHAR, DWORD, PCHAR, DWORD, INT)`.
    static func numericName(_ address: UnsafePointer<sockaddr>, _ length: socklen_t,
                            host: UnsafeMutableBufferPointer<CChar>, port: UnsafeMutableBufferPointer<CChar>) -> Int32 {
        getnameinfo(address, length, host.baseAddress, DWORD(host.count), port.baseAddress, DWORD(port.count), NI_NUMERICHOST | NI_NUMERICSERV)
    }

    /// `int recv(SOCKET, char *, int, int)`: at most `Int32.max` bytes a call.
    static func receive(_ handle: Handle, _ buffer: UnsafeMutableRawBufferPointer) -> Int {
        Int(recv(handle, buffer.baseAddress?.assumingMemoryBound(to: CChar.self), Int32(min(buffer.count, Int(Int32.max))), 0))
    }

    /// `int send(SOCKET, const char *, int, int)`; on a socket made
    /// non-blocking (FIONBIO) it fails with WSAEWOULDBLOCK when the send
    /// buffer is full, instead of waiting. There is no SIGPIPE to suppress.
    static func sendBytes(_ handle: Handle, _ bytes: UnsafeRawBufferPointer) -> Int {
        Int(send(handle, bytes.baseAddress?.assumingMemoryBound(to: CChar.self), Int32(min(bytes.count, Int(Int32.max))), 0))
    }

    /// `int recvfrom(SOCKET, char *, int, int, sockaddr *, int *)`.
    static func receiveFrom(_ handle: Handle, _ buffer: UnsafeMutableRawBufferPointer,
                            _ address: UnsafeMutablePointer<sockaddr>, _ length: UnsafeMutablePointer<socklen_t>) -> Int {
        Int(recvfrom(handle, buffer.baseAddress?.assumingMemoryBound(to: CChar.self), Int32(min(buffer.count, Int(Int32.max))), 0, address, length))
    }

    /// `int sendto(SOCKET, const char *, int, int, const sockaddr *, int)`.
    static func sendTo(_ handle: Handle, _ bytes: UnsafeRawBufferPointer, _ address: UnsafePointer<sockaddr>, _ length: socklen_t) -> Int {
        Int(sendto(handle, bytes.baseAddress?.assumingMemoryBound(to: CChar.self), Int32(min(bytes.count, Int(Int32.max))), 0, address, length))
    }

    /// POLLRDNORM: WSAPoll accepts no other read flag (POLLIN includes POLLRDBAND, which it refuses).
    static let inputEvents = Int16(POLLRDNORM)
    /// POLLWRNORM: room to send (WSAPoll's POLLOUT is the same flag).
    static let outputEvents = Int16(POLLWRNORM)
    /// What WSAPoll reports in `revents`, asked or not, when a socket failed or its peer hung up.
    static let failureEvents = Int16(POLLERR | POLLHUP | POLLNVAL)

    /// `int WSAPoll(LPWSAPOLLFD, ULONG, INT)`.
    static func pollEntries(_ entries: UnsafeMutableBufferPointer<pollfd>, milliseconds: Int32) -> Int32 {
        WSAPoll(entries.baseAddress, ULONG(entries.count), milliseconds)
    }

    /// SO_RCVTIMEO as a DWORD of milliseconds; 0 waits forever.
    static func setReceiveTimeout(_ handle: Handle, seconds: Double) {
        setTimeout(handle, SO_RCVTIMEO, seconds: seconds)
    }

    /// SO_SNDTIMEO as a DWORD of milliseconds; 0 waits forever. A send that timed
    /// out leaves the connection in an indeterminate state (Winsock's documentation).
    static func setSendTimeout(_ handle: Handle, seconds: Double) {
        setTimeout(handle, SO_SNDTIMEO, seconds: seconds)
    }

    /// `int setsockopt(SOCKET, int, int, const char *, int)` with a DWORD of milliseconds;
    /// any positive timeout is at least 1 ms, since 0 would mean waiting forever.
    private static func setTimeout(_ handle: Handle, _ option: Int32, seconds: Double) {
        var milliseconds = seconds > 0 ? DWORD(min(Double(UInt32.max), max(1, (seconds * 1000).rounded(.up)))) : 0
        _ = withUnsafeBytes(of: &milliseconds) {
            setsockopt(handle, SOL_SOCKET, option, $0.baseAddress!.assumingMemoryBound(to: CChar.self), Int32($0.count))
        }
    }

    /// A non-blocking `connect` that goes on in the background answers WSAEWOULDBLOCK
    /// (WSAEINPROGRESS means another blocking call is under way, which is not this).
    static func connectInProgress(_ code: Int32) -> Bool { code == WSAEWOULDBLOCK }

    /// Waits up to `milliseconds` for a background `connect` to end: > 0 when it ended,
    /// 0 at the timeout, < 0 on failure (`lastError`). `select` with the socket in the
    /// write set (connected) and the except set (failed), as Microsoft's `connect` page
    /// says: WSAPoll before Windows 10 version 2004 (so on Server 2016 and 2019) never
    /// reports a failed connect, which would wait out the timeout. The sets are filled by
    /// hand (the FD_SET macro does not import): `fd_count`, then `fd_array`'s first entry.
    /// `int select(int, fd_set *, fd_set *, fd_set *, const timeval *)`; its first argument is ignored.
    static func waitForConnect(_ handle: Handle, milliseconds: Int32) -> Int32 {
        var writable = fd_set()
        writable.fd_count = 1
        writable.fd_array.0 = handle
        var failed = writable
        var wait = timeval(tv_sec: milliseconds / 1000, tv_usec: (milliseconds % 1000) * 1000)
        return select(0, nil, &writable, &failed, &wait)
    }

    /// The error a background `connect` ended with: `int getsockopt(SOCKET, int, int, char *, int *)`
    /// with SO_ERROR, an `int`; 0 when it connected.
    static func pendingError(_ handle: Handle) -> Int32 {
        var code: Int32 = 0
        var length = Int32(MemoryLayout<Int32>.size)
        let status = withUnsafeMutableBytes(of: &code) {
            getsockopt(handle, SOL_SOCKET, SO_ERROR, $0.baseAddress!.assumingMemoryBound(to: CChar.self), &length)
        }
        return status == 0 ? code : WSAGetLastError()
    }

    /// SO_SNDBUF, an `int`, through `int setsockopt(SOCKET, int, int, const char *, int)`: a fixed send buffer.
    static func setSendBufferSize(_ handle: Handle, bytes: Int32) {
        var value = bytes
        _ = withUnsafeBytes(of: &value) {
            setsockopt(handle, SOL_SOCKET, SO_SNDBUF, $0.baseAddress!.assumingMemoryBound(to: CChar.self), Int32($0.count))
        }
    }

    /// SO_LINGER with a zero timeout (`struct linger` of two `u_short` here): the close sends a reset.
    static func setAbortiveClose(_ handle: Handle) {
        var value = linger(l_onoff: 1, l_linger: 0)
        _ = withUnsafeBytes(of: &value) {
            setsockopt(handle, SOL_SOCKET, SO_LINGER, $0.baseAddress!.assumingMemoryBound(to: CChar.self), Int32($0.count))
        }
    }

    /// `shutdown(SOCKET, SD_RECEIVE)`, which leaves the handle open: Winsock
    /// resets a TCP connection whose data is still queued or arrives after it,
    /// "since the data cannot be delivered to the user" (Microsoft's `shutdown`
    /// reference). The reset goes with the peer's next segment rather than at
    /// once, as Linux's does; that segment is lost, as it would be at a close,
    /// and every write after it fails.
    static func resetConnection(_ handle: Handle) {
        _ = shutdown(handle, SD_RECEIVE)
    }

    /// `int shutdown(SOCKET, int)`. Unlike POSIX it does not wake a thread
    /// blocked in `accept` or `recv`; only `closesocket` does, which is why
    /// every read and accept of this product waits in a poll first.
    static func shutdownHandle(_ handle: Handle, _ direction: Direction) {
        _ = shutdown(handle, direction == .sending ? SD_SEND : SD_BOTH)
    }

    static func closeHandle(_ handle: Handle) {
        _ = closesocket(handle)
    }

    /// `Unix_Path` is a Linux feature of the forward input.
    static func listenUnix(path: String, permissions: UInt32, backlog: Int32) throws -> Handle {
        throw SocketError(operation: "Unix_Path \(path): Unix domain sockets are supported on Linux only", code: addressFamilyNotSupported)
    }

    /// Turns off SIO_UDP_CONNRESET on a UDP socket: otherwise one ICMP "port
    /// unreachable" after an answer makes the next `recvfrom` fail with
    /// WSAECONNRESET, and the heartbeat answerer would stop for good.
    static func ignoreDatagramResets(_ handle: Handle) {
        // _WSAIOW(IOC_VENDOR, 12): a function-like macro, which does not import.
        let SIO_UDP_CONNRESET: DWORD = 0x9800_000C
        var report: Int32 = 0
        var returned: DWORD = 0
        _ = WSAIoctl(handle, SIO_UDP_CONNRESET, &report, DWORD(MemoryLayout<Int32>.size), nil, 0, &returned, nil, nil)
    }

    /// Whether a failed `recvfrom` still leaves the socket serving: a reset
    /// reported for an earlier datagram, or a datagram longer than the buffer
    /// (Winsock fails the call where POSIX truncates; such a datagram is skipped).
    static func datagramErrorIsTransient(_ code: Int32) -> Bool {
        code == WSAECONNRESET || code == WSAEMSGSIZE
    }
}
#endif
