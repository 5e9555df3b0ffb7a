/// What a successful PutLogEvents answered.
public struct PutLogEventsResult: Sendable {
    public var nextSequenceToken: String?
    /// Present when the service refused some events (too old, too new, expired).
    public var rejectedInfo: [String: Int]
}
