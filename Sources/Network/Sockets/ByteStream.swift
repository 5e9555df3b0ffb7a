/// A blocking connection's bytes in both directions, plain or TLS: what
/// `shipper cat` and the CloudWatch client speak over (the
/// forward input's connections are a `NonBlockingStream`).
public protocol ByteStream: AnyObject, Sendable {
    /// The remote address, for log lines.
    var peer: String { get }
    /// Reads what is available; 0 means the peer closed the connection.
    func read(into buffer: UnsafeMutableRawBufferPointer) throws -> Int
    func write(_ bytes: [UInt8]) throws
    /// Makes `read` fail with a timeout after `seconds` of silence.
    func setReceiveTimeout(_ seconds: Double)
    /// Ends both directions; a blocked `read` or `write` wakes up.
    func shutdown()
}

extension StreamSocket: ByteStream {}
