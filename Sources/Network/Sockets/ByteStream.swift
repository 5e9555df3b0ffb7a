/// A connection's bytes in both directions, plain or TLS: what a forward
/// connection reads frames from and writes acks to.
public protocol ByteStream: AnyObject, Sendable {
    /// The remote address, for log lines.
    var peer: String { get }
    /// Reads what is available; 0 means the peer closed the connection.
    func read(into buffer: UnsafeMutableRawBufferPointer) throws -> Int
    func write(_ bytes: [UInt8]) throws
    /// Makes `read` fail with a timeout after `seconds` of silence.
    func setReceiveTimeout(_ seconds: Double)
    /// Whether a read would return at once: what a stop drains before closing.
    var isReadable: Bool { get }
    /// Ends the sending direction (a FIN; TLS sends close_notify first) and keeps
    /// reading: how a stop says goodbye without resetting what the client still sends.
    func shutdownSending()
    /// Makes the eventual close a reset, so that the client's next write fails rather than vanishes.
    func resetOnClose()
    /// Ends both directions; a blocked `read` or `write` wakes up.
    func shutdown()
    /// Whether another thread may write while one reads. A plain socket may;
    /// an OpenSSL session may not.
    var allowsWriteDuringRead: Bool { get }
}

extension StreamSocket: ByteStream {
    public var allowsWriteDuringRead: Bool { true }
    public var isReadable: Bool { isReadable(within: 0) }
}
