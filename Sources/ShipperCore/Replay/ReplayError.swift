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
        /// The records' stream belongs to an output the config does not have (by its place).
        case outputNotConfigured
    }

    /// What `underlying` is for `outputNotConfigured`: the output the records belong to.
    public struct MissingOutput: Error, CustomStringConvertible, Sendable {
        public var output: String
        public var index: Int
        public var configured: Int

        public var description: String {
            "the records belong to output \(output) (output \(index)) and the config has \(configured) output(s); put it back at its place to replay them"
        }
    }

    public var reason: Reason
    /// The output the batch belongs to (`Alias`, else cloudwatch_logs.N).
    public var output: String
    public var logGroup: String
    public var logStream: String
    /// The spool ids of the first and last record of the batch.
    public var firstRecord: Int64
    public var lastRecord: Int64
    /// The last error of the batch's calls.
    public var underlying: any Error

    public var description: String {
        let batch = "the batch of records \(firstRecord)...\(lastRecord) of \(output) to \(logGroup)/\(logStream)"
        switch reason {
        case .outputNotConfigured: return "\(batch) was not sent: \(underlying)"
        case .attemptsExhausted(let attempts): return "\(batch) failed \(attempts) times; the last error: \(underlying)"
        case .needsOperator: return "\(batch) was refused (access or keys; retrying will not help): \(underlying)"
        case .interrupted: return "\(batch) was interrupted: \(underlying)"
        }
    }
}
