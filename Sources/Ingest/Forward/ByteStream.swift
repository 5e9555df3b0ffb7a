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
    /// Ends both directions; a blocked `read` wakes up.
    func shutdown()
    /// Whether another thread may write while one reads. A plain socket may;
    /// an OpenSSL session may not.
    var allowsWriteDuringRead: Bool { get }
}

extension StreamSocket: ByteStream {
    public var allowsWriteDuringRead: Bool { true }
}
