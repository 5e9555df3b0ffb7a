import Dispatch
import Records

/// The filtered records of one client frame, with the frame's chunk id when
/// the client asked for an ack.
public struct IngestBatch: Sendable {
    /// The `option.chunk` bytes: a frame resent with the same chunk is the same frame.
    public var chunk: [UInt8]?
    public var records: [TaggedRecord]
    /// Pieces of split lines to keep until their line is whole.
    public var staged: [StagedPiece]
    /// Lines made whole by this batch: their staged pieces go as its records are stored.
    public var completedLines: [[UInt8]]

    public init(chunk: [UInt8]?, records: [TaggedRecord], staged: [StagedPiece] = [], completedLines: [[UInt8]] = []) {
        self.chunk = chunk
        self.records = records
        self.staged = staged
        self.completedLines = completedLines
    }
}

/// Where ingest hands records over: the spool, behind the shipper's routing.
///
/// A protocol so that Ingest never imports Spool: the shipper wires the two.
public protocol IngestSink: Sendable {
    /// Takes responsibility for the frames' records and returns without waiting
    /// for the disk. `whenStored`, when given, is called once they are committed
    /// to stable storage (nil error: the caller may now acknowledge them) or could
    /// not be (then nothing may be acknowledged); it may run on another thread.
    /// A batch whose chunk was stored before is not stored again. Blocks while
    /// storage is over its limit: that is how backpressure reaches the sockets.
    func accept(_ batches: [IngestBatch], whenStored: (@Sendable (Error?) -> Void)?) throws

    /// Whether a frame with this chunk id was stored already, so that a resent
    /// frame is acked again without being filtered or joined a second time.
    func hasStored(chunk: [UInt8]) -> Bool
}

extension IngestSink {
    /// Takes the batches and waits until they are committed (or throws).
    public func store(_ batches: [IngestBatch]) throws {
        let done = DispatchSemaphore(value: 0)
        let outcome = StoreOutcome()
        try accept(batches) { error in
            outcome.error = error
            done.signal()
        }
        done.wait()
        if let error = outcome.error { throw error }
    }
}

/// The result a waiting `store` reads after its semaphore.
// Safe to share: written once before the semaphore is signalled, read after the wait.
private final class StoreOutcome: @unchecked Sendable {
    var error: Error?
}
