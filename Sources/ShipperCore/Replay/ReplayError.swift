import CloudWatchLogs

/// Why a replay stopped: the batch it could not send, where to, and CloudWatch's last answer.
public struct ReplayError: Error, CustomStringConvertible, Sendable {
    public enum Reason: Sendable {
        /// Retries ran out: the endpoint kept failing, throttling, or a missing destination could not be created.
        case attemptsExhausted(Int)
        /// Access denied or the keys refused: retrying will not help until the operator fixes it.
        case needsOperator
        /// The call failed without a CloudWatch answer to classify (cancelled, for one).
        case interrupted
    }

    public var reason: Reason
    public var logGroup: String
    public var logStream: String
    /// The spool ids of the first and last record of the batch.
    public var firstRecord: Int64
    public var lastRecord: Int64
    /// The last error of the batch's calls.
    public var underlying: any Error

    public var description: String {
        let batch = "the batch of records \(firstRecord)...\(lastRecord) to \(logGroup)/\(logStream)"
        switch reason {
        case .attemptsExhausted(let attempts): return "\(batch) failed \(attempts) times; the last error: \(underlying)"
        case .needsOperator: return "\(batch) was refused (access or keys; retrying will not help): \(underlying)"
        case .interrupted: return "\(batch) was interrupted: \(underlying)"
        }
    }
}
