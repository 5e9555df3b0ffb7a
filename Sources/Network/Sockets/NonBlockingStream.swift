/// What one call on a `NonBlockingStream` did.
public enum StreamProgress: Equatable, Sendable {
    /// This many bytes were read or written (a handshake that is done: 0).
    case transferred(Int)
    /// Nothing more until the socket is readable (TLS: also for a write, while it renegotiates).
    case needsReadable
    /// Nothing more until the socket can take bytes (TLS: also for a read).
    case needsWritable
    /// The peer closed the stream.
    case ended
}

/// A connection served by an event loop, plain or TLS: every call returns at
/// once with what it could do, and says which readiness to wait for otherwise.
/// One thread (the loop that owns the connection) makes every call.
public protocol NonBlockingStream: AnyObject {
    /// The socket underneath, for polling, its peer, and closing.
    var socket: StreamSocket { get }
    /// Goes on with the stream's own handshake (TLS); `.transferred(0)` once it is done.
    func handshake() throws -> StreamProgress
    func readAvailable(into buffer: UnsafeMutableRawBufferPointer) throws -> StreamProgress
    func writeAvailable(_ bytes: UnsafeRawBufferPointer) throws -> StreamProgress
    /// Bytes the stream holds decoded already (TLS records read whole), which no poll reports.
    var hasBufferedInput: Bool { get }
    /// Says goodbye (TLS: close_notify first, as far as the socket takes it) and ends the sending direction only.
    func shutdownSending()
}

extension StreamSocket: NonBlockingStream {
    public var socket: StreamSocket { self }

    public func handshake() throws -> StreamProgress { .transferred(0) }

    /// Reads what the socket holds, on a socket made non-blocking.
    public func readAvailable(into buffer: UnsafeMutableRawBufferPointer) throws -> StreamProgress {
        while true {
            let n = SocketCalls.receive(descriptor, buffer)
            if n > 0 { return .transferred(n) }
            if n == 0 { return .ended }
            let code = SocketCalls.lastError()
            if SocketCalls.isInterrupted(code) { continue }
            if SocketCalls.wouldBlock(code) { return .needsReadable }
            throw SocketError(operation: "recv from \(peer)", code: code)
        }
    }

    /// Writes what the socket takes now, on a socket made non-blocking.
    public func writeAvailable(_ bytes: UnsafeRawBufferPointer) throws -> StreamProgress {
        while true {
            let n = SocketCalls.sendBytes(descriptor, bytes)
            if n >= 0 { return .transferred(n) }
            let code = SocketCalls.lastError()
            if SocketCalls.isInterrupted(code) { continue }
            if SocketCalls.wouldBlock(code) { return .needsWritable }
            throw SocketError(operation: "send to \(peer)", code: code)
        }
    }

    public var hasBufferedInput: Bool { false }
}
