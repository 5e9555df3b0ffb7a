/// What `shipper spool salvage` read from a damaged spool and what it copied.
///
/// Every record the file holds ends up in exactly one of: copied,
/// `alreadyDelivered`, `alreadySalvaged` (by an earlier run), `missingShape`,
/// `unknownStream`, or `unreadableRecords` (ids whose pages could not be read)
/// or from `unreadableFrom` on.
public struct SalvageReport: Codable, Sendable {
    public var source: String
    public var liveSpool: String
    /// How the live spool knows this file (the id and time of its first readable record),
    /// so a second run, or a run on a copy under another name, copies nothing twice.
    public var sourceIdentity: String?
    /// Records read, delivered or not.
    public var recordsRead = 0
    /// Records copied into the live spool by this run.
    public var copied = 0
    /// Records the damaged spool had already delivered: not copied.
    public var alreadyDelivered = 0
    /// Undelivered records an earlier salvage of the same file copied: not copied again.
    public var alreadySalvaged = 0
    /// Ids that could not be read (some may never have existed: a gap cannot be told from a lost page).
    public var unreadableRecords = IDRanges()
    /// Set when the end of the records table could not be read: nothing from this id on was read,
    /// and how many records there were is unknown.
    public var unreadableFrom: Int64?
    /// Undelivered records whose shape row is gone: their message cannot be put together, so they are not copied.
    public var missingShape = IDRanges()
    /// Records whose stream row could not be read: destination and delivery state unknown, so they are not copied.
    public var unknownStream = IDRanges()
    /// Stream rows read, and the stream ids that could not be.
    public var streamsRead = 0
    public var unreadableStreams = IDRanges()
    /// False when the streams table could not be read at all.
    public var streamsTableReadable = true
    /// Destinations in the live spool that received records.
    public var streamsCopiedTo = 0

    public init(source: String, liveSpool: String) {
        self.source = source
        self.liveSpool = liveSpool
    }

    /// Whether everything in the file could be read and accounted for.
    public var isComplete: Bool {
        unreadableRecords.isEmpty && unreadableFrom == nil && missingShape.isEmpty && unknownStream.isEmpty && unreadableStreams.isEmpty && streamsTableReadable
    }
}
