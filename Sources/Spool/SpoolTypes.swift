/// A record on its way into the spool, already routed and rendered.
///
/// The spool stores what the uploader sends (destination and message), so
/// draining never re-runs the filters, and the tag and time for replays.
public struct SpoolRecord: Hashable, Sendable {
    /// The output whose `Match` routed the record, which sends it.
    public var output: SpoolOutput
    public var logGroup: String
    public var logStream: String
    public var tag: String
    /// Nanoseconds since the Unix epoch.
    public var timeNanoseconds: Int64
    /// The event message (for CloudWatch, the record as JSON).
    public var message: [UInt8]

    public init(output: SpoolOutput, logGroup: String, logStream: String, tag: String, timeNanoseconds: Int64, message: [UInt8]) {
        self.output = output
        self.logGroup = logGroup
        self.logStream = logStream
        self.tag = tag
        self.timeNanoseconds = timeNanoseconds
        self.message = message
    }
}

/// The records of one client frame. A frame that carried a chunk id is
/// stored once: a client that resends the same chunk (because it never saw
/// the ack) gets its ack without a second copy.
public struct SpoolAppend: Sendable {
    public var chunk: [UInt8]?
    public var records: SpoolRecords
    /// Pieces of split lines, kept until their line is stored whole.
    public var staged: [SpoolStagedPiece]
    /// Lines these records complete: their staged pieces are removed in the same commit.
    public var completedLines: [[UInt8]]

    public init(chunk: [UInt8]?, records: SpoolRecords, staged: [SpoolStagedPiece] = [], completedLines: [[UInt8]] = []) {
        self.chunk = chunk
        self.records = records
        self.staged = staged
        self.completedLines = completedLines
    }
}

/// An acknowledged piece of a line that arrived split, opaque to the spool.
public struct SpoolStagedPiece: Hashable, Sendable {
    public var key: [UInt8]
    public var ordinal: Int
    public var bytes: [UInt8]

    public init(key: [UInt8], ordinal: Int, bytes: [UInt8]) {
        self.key = key
        self.ordinal = ordinal
        self.bytes = bytes
    }
}

/// A record read back from the spool; `id` orders records of a stream by arrival and never repeats.
public struct StoredRecord: Hashable, Sendable {
    public var id: Int64
    public var timeNanoseconds: Int64
    public var message: [UInt8]
    /// Set when the record is stored as the middle of a shape that is not in
    /// the spool: spool damage. `message` is then only that middle, and the
    /// record must go to dead letters, never out as a message missing its ends.
    public var missingShape: Int64?

    public init(id: Int64, timeNanoseconds: Int64, message: [UInt8], missingShape: Int64? = nil) {
        self.id = id
        self.timeNanoseconds = timeNanoseconds
        self.message = message
        self.missingShape = missingShape
    }
}

/// One destination (an output's log group and stream) and how far it has been delivered.
public struct SpoolStream: Hashable, Sendable {
    public var id: Int64
    public var output: SpoolOutput
    public var logGroup: String
    public var logStream: String
    /// Records of this stream with an id up to this one have been delivered.
    public var deliveredThrough: Int64
}

/// A delivered record that CloudWatch refused for good, and why.
public struct DeadLetter: Hashable, Sendable {
    public var recordID: Int64
    public var reason: String

    public init(recordID: Int64, reason: String) {
        self.recordID = recordID
        self.reason = reason
    }
}

/// How much a commit survives. The README explains the trade-off to operators.
public enum SpoolSyncMode: String, Sendable, CaseIterable {
    /// fsync on every commit: acknowledged records survive power loss.
    case full
    /// fsync only at checkpoints: acknowledged records survive a crash of the process, not of the machine.
    case normal
}
