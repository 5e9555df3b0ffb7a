/// The limits CloudWatch puts on one PutLogEvents call, with an output's own
/// `event_max_size` and `oversize_events`: part of each output's settings,
/// which delivery and replay cut their batches by.
public struct BatchLimits: Sendable {
    public var maxBytes = 1_048_576
    public var maxEvents = 10_000
    /// Counted per event on top of its message bytes.
    public var perEventOverhead = 26
    /// The largest message (1 MiB less the overhead in today's service model): `event_max_size`.
    public var maxEventBytes = 1_048_576 - 26
    /// `oversize_events`: cut longer messages to `maxEventBytes` (true), or send them to dead letters.
    public var truncateOversize = true
    /// The longest time a batch may span.
    public var maxSpanMilliseconds: Int64 = 24 * 3_600_000

    public init() {}
}
