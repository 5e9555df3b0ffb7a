import Foundation

/// How long the spool's writer waits, before a commit, for the clients its
/// last commit acked.
///
/// Docker's driver with `fluentd-request-ack` has one frame in flight per
/// container: a commit acks a set of containers, and each sends its next line
/// a fraction of a millisecond later. A writer that starts the next commit at
/// once takes only the frames that came in during the last one, so the
/// containers split into two cohorts that take turns, and every frame pays for
/// half a commit's fixed cost (the sync, the header, sequence and index pages,
/// the wake-ups). Waiting briefly for the acked clients lets one commit take
/// them all.
///
/// The wait ends as soon as the frames expected are in: those that came during
/// the last commit, plus one per frame it acked. It lasts at most a quarter of
/// the last commit's time and never more than `maxWait` (0.3 ms), so it adds at most
/// that to an ack. A lone client never waits: its next frame is all that is
/// expected. Frames without a chunk id are not waited for, since their
/// clients do not wait for acks. Windows has no timed wait this short, so
/// the writer does not wait there (`SpoolWriter.waitForAckedClients`).
struct CommitGathering {
    static let maxWait: TimeInterval = 0.000_3

    /// Frames to wait for before the next commit; 0: commit at once.
    private(set) var expectedFrames = 0
    /// The longest wait for them.
    private(set) var longestWait: TimeInterval = 0

    /// Notes a commit that acked `ackedFrames` frames and took `duration`,
    /// with `queuedFrames` frames already waiting when it ended.
    mutating func committed(ackedFrames: Int, queuedFrames: Int, duration: TimeInterval) {
        expectedFrames = ackedFrames > 0 ? ackedFrames + queuedFrames : 0
        longestWait = min(max(duration, 0) / 4, Self.maxWait)
    }
}
