/// A record's timestamp with the nanoseconds Fluentd's EventTime carries.
///
/// Kept whole through the spool so that nothing is rounded before the output
/// decides its own precision (CloudWatch wants milliseconds).
public struct EventTime: Hashable, Comparable, Sendable {
    public var seconds: Int64
    public var nanoseconds: UInt32

    public init(seconds: Int64, nanoseconds: UInt32 = 0) {
        self.seconds = seconds
        self.nanoseconds = nanoseconds
    }

    /// Builds a time from nanoseconds since the Unix epoch.
    public init(unixNanoseconds: Int64) {
        let (q, r) = unixNanoseconds.quotientAndRemainder(dividingBy: 1_000_000_000)
        if r < 0 {
            self.init(seconds: q - 1, nanoseconds: UInt32(r + 1_000_000_000))
        } else {
            self.init(seconds: q, nanoseconds: UInt32(r))
        }
    }

    public var unixNanoseconds: Int64 { seconds &* 1_000_000_000 &+ Int64(nanoseconds) }
    public var unixMilliseconds: Int64 { seconds &* 1_000 &+ Int64(nanoseconds / 1_000_000) }

    public static func < (lhs: EventTime, rhs: EventTime) -> Bool {
        (lhs.seconds, lhs.nanoseconds) < (rhs.seconds, rhs.nanoseconds)
    }
}
