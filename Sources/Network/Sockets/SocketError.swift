/// A failed socket call, with the operation and the OS error code.
public struct SocketError: Error, CustomStringConvertible {
    public let operation: String
    public let code: Int32

    public init(operation: String, code: Int32) {
        self.operation = operation
        self.code = code
    }

    /// A receive timeout (`setReceiveTimeout`) ran out.
    public var isTimeout: Bool { SocketCalls.isTimeout(code) }

    /// The error a timed read gives when its receive timeout runs out.
    static func timedOut(_ operation: String) -> SocketError {
        SocketError(operation: operation, code: SocketCalls.timeoutCode)
    }

    public var description: String { "\(operation) failed: \(SocketCalls.describe(code))" }
}
