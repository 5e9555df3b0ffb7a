/// One event of a PutLogEvents call.
public struct InputLogEvent: Sendable {
    /// Milliseconds since the Unix epoch.
    public var timestamp: Int64
    /// UTF-8 message bytes.
    public var message: [UInt8]

    public init(timestamp: Int64, message: [UInt8]) {
        self.timestamp = timestamp
        self.message = message
    }
}
