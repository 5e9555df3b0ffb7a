/// What the connections one event loop served in a pass decoded, handed to
/// the sink together once the pass is over.
///
/// With Docker's `fluentd-request-ack` every container has one frame in
/// flight, so a pass over the ready sockets brings one frame from each. One
/// sink call for all of them costs the routing, the spool's queue and the
/// commit's completion once per pass instead of once per frame, and the
/// spool's writer finds whole passes in its queue, so its commits are larger.
/// The frames keep their order: a connection's frames are staged in the order
/// it decoded them, and a loop hands its passes over one after another.
struct StagedDeliveries {
    /// Records past which a pass is handed over before it ends: clients that
    /// stream without acks bring hundreds of records a read, and holding a
    /// whole pass of those at once cost 13-15 MiB more peak memory for no
    /// fewer commits.
    static let maxRecords = 512

    /// The frames' records, in the order the connections decoded them.
    private(set) var batches: [IngestBatch] = []
    /// The acks to write to each connection once the frames are committed; a
    /// connection that delivered twice in the pass is listed twice, as it
    /// counts two commits outstanding.
    private(set) var acks: [(connection: Int, acks: [UInt8])] = []
    /// The connections whose decode budget goes back once the sink has their frames.
    private(set) var holders: [ForwardConnection] = []

    var isEmpty: Bool { batches.isEmpty }

    /// Records staged so far.
    private(set) var records = 0

    /// Whether the pass holds enough to be handed over now.
    var isFull: Bool { records >= Self.maxRecords }

    /// Adds a connection's frames; `acks` are the ones it writes once they are committed, nil when it acks none.
    mutating func stage(_ frames: [IngestBatch], acks: [UInt8]?, from connection: ForwardConnection) {
        batches.append(contentsOf: frames)
        for frame in frames { records += frame.records.count }
        if let acks { self.acks.append((connection.key, acks)) }
        // A connection stages its deliveries of a pass one after another; listed twice otherwise, it is given back twice, which is harmless.
        if holders.last !== connection { holders.append(connection) }
    }

    /// Everything staged, leaving this empty, its arrays sized for a pass like the last.
    mutating func take() -> StagedDeliveries {
        var taken = StagedDeliveries()
        swap(&taken, &self)
        batches.reserveCapacity(taken.batches.count)
        acks.reserveCapacity(taken.acks.count)
        holders.reserveCapacity(taken.holders.count)
        return taken
    }
}
