/// Where ingest hands records over: the spool, behind the shipper's routing.
///
/// A protocol so that Ingest never imports Spool: the shipper wires the two.
public protocol IngestSink: Sendable {
    /// Takes responsibility for `records`.
    ///
    /// With `durable`, returns only once they are committed to stable storage,
    /// so the caller may acknowledge them; throws if they were not stored, and
    /// then nothing may be acknowledged. Blocks while storage is over its limit:
    /// that is how backpressure reaches the sockets.
    func accept(_ records: [TaggedRecord], durable: Bool) throws
}
