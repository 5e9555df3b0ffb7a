import Dispatch
#if os(Windows)
import WinSDK
#elseif canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#elseif canImport(Darwin)
import Darwin
#endif

/// A blocking stream socket (TCP, or a Unix domain socket on Linux), written
/// against `SocketCalls`: the loops, retries, timeouts and errors with context
/// live here once, and each system's calls in its own file beside it.
// Safe to share: `handle` and `peer` never change; `pollTimeoutMilliseconds` and `closed` belong to the thread that owns the socket.
public final class StreamSocket: @unchecked Sendable {
    typealias Handle = SocketCalls.Handle

    private let handle: Handle
    /// The remote address as `host:port` (`[v6]:port`), for log lines.
    public let peer: String
    /// `setReceiveTimeout` in milliseconds (0: none), where the system's receive
    /// timeout would leave the socket unusable (`SocketCalls.receiveTimeoutNeedsPoll`).
    private var pollTimeoutMilliseconds: Int32 = 0

    private init(handle: Handle, peer: String) {
        self.handle = handle
        self.peer = peer
    }

    deinit {
        closeHandle()
    }

    /// Binds and listens on `host:port`; port 0 lets the OS choose (see `localPort`).
    public static func listen(host: String, port: UInt16, backlog: Int32 = 1024) throws -> StreamSocket {
        try firstAddress(host: host, port: port, passive: true) { handle, entry in
            SocketCalls.allowQuickRebind(handle)
            guard SocketCalls.bindAddress(handle, entry) == 0 else { return SocketError(operation: "bind \(host):\(port)", code: SocketCalls.lastError()) }
            guard SocketCalls.startListening(handle, backlog: backlog) == 0 else {
                return SocketError(operation: "listen \(host):\(port)", code: SocketCalls.lastError())
            }
            SocketCalls.setBlocking(handle, false)
            return nil
        }
    }

    /// Binds and listens on a Unix domain socket at `path` (replacing a stale one),
    /// readable and writable by the owner and group (`Unix_Perm` semantics: 0660).
    public static func listenUnix(path: String, permissions: UInt32 = 0o660, backlog: Int32 = 1024) throws -> StreamSocket {
        let handle = try SocketCalls.listenUnix(path: path, permissions: permissions, backlog: backlog)
        SocketCalls.setBlocking(handle, false)
        return StreamSocket(handle: handle, peer: "unix:\(path)")
    }

    /// Connects to `host:port` (used by `shipper cat` and tests).
    public static func connect(host: String, port: UInt16) throws -> StreamSocket {
        try firstAddress(host: host, port: port, passive: false) { handle, entry in
            SocketCalls.connectAddress(handle, entry) == 0 ? nil : SocketError(operation: "connect \(host):\(port)", code: SocketCalls.lastError())
        }
    }

    /// Connects to `host:port`, giving each address at most `timeout` seconds: an
    /// endpoint whose host drops the handshake must not hold the caller for the
    /// system's minutes of retries. `cancelled` is asked every `connectTick`
    /// meanwhile; once it answers true the connect gives up. The socket is
    /// blocking again once connected.
    ///
    /// The connect runs non-blocking and its end is waited for in ticks
    /// (`SocketCalls.waitForConnect`); its error is then read from the socket.
    public static func connect(host: String, port: UInt16, timeout: Double, cancelled: () -> Bool) throws -> StreamSocket {
        try firstAddress(host: host, port: port, passive: false) { handle, entry in
            let operation = "connect \(host):\(port)"
            SocketCalls.setBlocking(handle, false)
            if SocketCalls.connectAddress(handle, entry) != 0 {
                let code = SocketCalls.lastError()
                guard SocketCalls.connectInProgress(code) else { return SocketError(operation: operation, code: code) }
                let deadline = DispatchTime.now() + timeout
                while true {
                    guard !cancelled() else { return SocketError.timedOut(operation + " (cancelled)") }
                    let left = Double(deadline.uptimeNanoseconds &- min(DispatchTime.now().uptimeNanoseconds, deadline.uptimeNanoseconds)) / 1e9
                    guard left > 0 else { return SocketError.timedOut(operation) }
                    let ready = SocketCalls.waitForConnect(handle, milliseconds: Int32((min(left, connectTick) * 1000).rounded(.up)))
                    if ready > 0 { break }
                    if ready < 0 {
                        let code = SocketCalls.lastError()
                        if SocketCalls.isInterrupted(code) { continue }
                        return SocketError(operation: operation, code: code)
                    }
                }
                let ended = SocketCalls.pendingError(handle)
                guard ended == 0 else { return SocketError(operation: operation, code: ended) }
            }
            SocketCalls.setBlocking(handle, true)
            return nil
        }
    }

    /// How often a connect in progress asks whether it is cancelled.
    static let connectTick = 0.25

    /// Tries `setUp` on a new socket for each address `host:port` resolves to,
    /// and returns the first that works. `setUp` answers nil on success, or
    /// the error that made it fail.
    private static func firstAddress(host: String, port: UInt16, passive: Bool,
                                     _ setUp: (Handle, addrinfo) -> SocketError?) throws -> StreamSocket {
        SocketCalls.startNetworking()
        let addresses = try ResolvedAddresses(host: host, port: port, datagram: false, passive: passive)
        var lastError = SocketError(operation: "resolving \(host)", code: 0)
        for entry in addresses {
            let handle = SocketCalls.openSocket(entry)
            guard handle != SocketCalls.invalidHandle else { lastError = SocketError(operation: "socket", code: SocketCalls.lastError()); continue }
            guard let failure = setUp(handle, entry) else { return StreamSocket(handle: handle, peer: "\(host):\(port)") }
            lastError = failure
            SocketCalls.closeHandle(handle)
        }
        throw lastError
    }

    /// The OS handle, for TLS (OpenSSL drives the socket itself).
    var descriptor: Handle { handle }

    /// The port this socket is bound to.
    public var localPort: UInt16 {
        var storage = sockaddr_storage()
        var length = socklen_t(MemoryLayout<sockaddr_storage>.size)
        let status = withUnsafeMutablePointer(to: &storage) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { SocketCalls.localAddress(handle, $0, &length) }
        }
        guard status == 0 else { return 0 }
        return NumericAddress(&storage).port
    }

    /// Takes the next connection, or nil when none is pending. A listener never
    /// blocks in `accept`: wait for one with `isReadable(within:)` first. So a
    /// connection reset between that poll and this call cannot hold the
    /// acceptor until the next client, and a stop needs no call to wake it
    /// (which Winsock offers only by closing the listener). The connection it
    /// returns blocks, as every other socket here.
    public func accept() throws -> StreamSocket? {
        while true {
            var storage = sockaddr_storage()
            var length = socklen_t(MemoryLayout<sockaddr_storage>.size)
            let accepted = withUnsafeMutablePointer(to: &storage) {
                $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { SocketCalls.acceptConnection(handle, $0, &length) }
            }
            if accepted == SocketCalls.invalidHandle {
                let code = SocketCalls.lastError()
                if SocketCalls.isInterrupted(code) { continue }
                if SocketCalls.acceptFoundNone(code) { return nil }
                throw SocketError(operation: "accept", code: code)
            }
            SocketCalls.setBlocking(accepted, true)
            if peer.hasPrefix("unix:") { return StreamSocket(handle: accepted, peer: peer) }
            return StreamSocket(handle: accepted, peer: NumericAddress(&storage).description)
        }
    }

    /// Reads what is available into `buffer`; 0 means the peer closed the connection.
    public func read(into buffer: UnsafeMutableRawBufferPointer) throws -> Int {
        try awaitInput()
        while true {
            let n = SocketCalls.receive(handle, buffer)
            if n >= 0 { return n }
            let code = SocketCalls.lastError()
            if SocketCalls.isInterrupted(code) { continue }
            throw SocketError(operation: "recv from \(peer)", code: code)
        }
    }

    /// Writes all of `bytes`, waiting for room.
    public func write(_ bytes: [UInt8]) throws {
        try bytes.withUnsafeBytes { raw in
            var offset = 0
            while offset < raw.count {
                let n = SocketCalls.sendBytes(handle, UnsafeRawBufferPointer(rebasing: raw[offset...]))
                if n < 0 {
                    let code = SocketCalls.lastError()
                    if SocketCalls.isInterrupted(code) { continue }
                    throw SocketError(operation: "send to \(peer)", code: code)
                }
                offset += n
            }
        }
    }

    /// Makes every call on the socket return at once: for an event loop, which
    /// reads and writes only what the socket has or takes (`readAvailable`,
    /// `writeAvailable`) and waits in a `ReadinessPoller` instead.
    public func makeNonBlocking() {
        SocketCalls.setBlocking(handle, false)
    }

    /// Makes `read` fail with `SocketError.isTimeout` after `seconds` without data (0: wait forever).
    /// The socket stays usable: the next read goes on where this one stopped.
    public func setReceiveTimeout(_ seconds: Double) {
        if SocketCalls.receiveTimeoutNeedsPoll {
            pollTimeoutMilliseconds = Int32((seconds * 1000).rounded(.up))
        } else {
            SocketCalls.setReceiveTimeout(handle, seconds: seconds)
        }
    }

    /// Makes every receive on the socket, OpenSSL's own included, fail after
    /// `seconds` without data (the system's receive timeout on every system).
    /// Only for a phase after whose timeout the connection is closed, such as
    /// the TLS handshake: Winsock leaves a socket whose receive timed out in an
    /// indeterminate state.
    public func setHandshakeReceiveTimeout(_ seconds: Double) {
        SocketCalls.setReceiveTimeout(handle, seconds: seconds)
    }

    /// Makes a write that has sent nothing for `seconds` fail (0: wait forever): a
    /// peer that stops reading mid-request must not hold the writer. On Windows a
    /// send that timed out leaves the socket unusable; callers close it.
    public func setSendTimeout(_ seconds: Double) {
        SocketCalls.setSendTimeout(handle, seconds: seconds)
    }

    /// Waits, for at most the receive timeout, until a read would not block, and
    /// throws the timeout if none came. Nothing to do where the system's receive
    /// timeout ends the read itself; elsewhere (Windows) this is the timeout, so
    /// a read there costs two calls when a timeout is set. TLS calls it before
    /// reading, since OpenSSL reads the socket itself.
    public func awaitInput() throws {
        guard pollTimeoutMilliseconds > 0 else { return }
        guard try poll(milliseconds: pollTimeoutMilliseconds) else {
            throw SocketError.timedOut("recv from \(peer)")
        }
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
        var entries = sockets.map { pollfd(fd: $0.handle, events: SocketCalls.inputEvents, revents: 0) }
        do {
            _ = try entries.withUnsafeMutableBufferPointer { try pollInput($0, milliseconds: Int32((seconds * 1000).rounded(.up)), what: "poll") }
        } catch {
            return sockets.map { _ in true }
        }
        return entries.map { $0.revents != 0 }
    }

    /// One poll of this socket for input, without an array: on Windows it comes before every timed read.
    private func poll(milliseconds: Int32) throws -> Bool {
        var entry = pollfd(fd: handle, events: SocketCalls.inputEvents, revents: 0)
        return try withUnsafeMutablePointer(to: &entry) {
            try Self.pollInput(UnsafeMutableBufferPointer(start: $0, count: 1), milliseconds: milliseconds, what: "poll \(peer)")
        } > 0
    }

    /// Polls `entries`, retrying when interrupted; returns how many are ready.
    private static func pollInput(_ entries: UnsafeMutableBufferPointer<pollfd>, milliseconds: Int32, what: @autoclosure () -> String) throws -> Int32 {
        while true {
            let ready = SocketCalls.pollEntries(entries, milliseconds: milliseconds)
            if ready >= 0 { return ready }
            let code = SocketCalls.lastError()
            if SocketCalls.isInterrupted(code) { continue }
            throw SocketError(operation: what(), code: code)
        }
    }

    /// Ends the sending direction only (a FIN after what was sent); reads go on.
    /// A stop says goodbye this way: a client that checks for it stops sending and
    /// resends elsewhere, and what it sent meanwhile is still read, not reset.
    public func shutdownSending() {
        SocketCalls.shutdownHandle(handle, .sending)
    }

    /// Fixes the kernel's send buffer at about `bytes`, for a peer that is only
    /// ever sent a little (acks): the system would otherwise let it grow to
    /// megabytes for a peer that does not read, memory no budget of the process sees.
    public func setSendBufferSize(_ bytes: Int) {
        SocketCalls.setSendBufferSize(handle, bytes: Int32(clamping: bytes))
    }

    /// Makes the close abortive: it sends a reset instead of a FIN. A client that
    /// never reads (Docker's driver without acks) learns of a FIN only when a
    /// later write fails, so the first line it writes after a graceful close
    /// vanishes; after a reset, that write itself fails, and the client sends
    /// the line again on a new connection.
    public func resetOnClose() {
        SocketCalls.setAbortiveClose(handle)
    }

    /// Resets the connection now rather than at the close. A client that never
    /// reads learns of a stop only from a write that fails, so whatever it
    /// writes between the last read and the reset is taken by this socket's
    /// kernel and lost with it: the reset goes right after the last read. The
    /// handle stays open until the socket is released, so its number goes to
    /// no other connection while this one is still referenced. Linux resets
    /// at once; Winsock as soon as the peer sends anything more
    /// (`SocketCalls.resetConnection`). The close is made abortive as well,
    /// for a system that refuses both.
    public func reset() {
        SocketCalls.resetConnection(handle)
        SocketCalls.setAbortiveClose(handle)
    }

    /// Stops both directions. On POSIX systems a thread blocked in `read` or
    /// `write` wakes up; Winsock wakes blocked calls only on close, so there
    /// every read waits in a poll tick first.
    public func shutdown() {
        SocketCalls.shutdownHandle(handle, .both)
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
        SocketCalls.closeHandle(handle)
    }
}
