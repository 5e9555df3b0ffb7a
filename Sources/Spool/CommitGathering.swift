import Foundation

/// How long the spool's writer waits, before a commit, for the clients its
/// last commit acked.
///
/// Docker's driver with `fluentd-request-ack` has one frame in flight per
/// container: a commit acks a set of containers, and each sends its next line
/// a fraction of a millisecond later. A writer that starts the next commit at
/// once takes only the frames that came in during the last one, so the
/// containers split into cohorts that take turns, and every frame pays for
/// a cohort's share of a commit's fixed cost (the sync, the header, sequence
/// and index pages, the wake-ups). Waiting for the acked clients lets one
/// commit take them all.
///
/// The wait ends as soon as the frames expected are in: those that came during
/// the last commit, plus one per frame it acked. Until then it goes on while
/// they keep coming: a stretch of `quietWait` (half the last commit's time, at
/// most `maxQuietWait`) in which none came ends it, so acked clients that have
/// nothing more to send (a container logging a line now and then) cost the
/// others at most that. However fast they come, it lasts at most
/// `longestWait`: the last commit's time, and never more than `maxWait`.
/// A lone client never waits: its next frame is all that is expected. Frames
/// without a chunk id are not waited for, since their clients do not wait for
/// acks. Windows has no timed wait this short, so the writer does not wait
/// there (`SpoolWriter.waitForAckedClients`).
///
/// Measured with 50 clients that wait for each ack (`shipper-bench ingest
/// --connections 50 --ack`, 200,000 records): with a quarter of the last
/// commit as the only bound, commits took about 26 frames. A quiet stretch of
/// a quarter of a commit made about 29, and two waits in three still ended
/// early: the event loops send a commit's acks before they read again, and
/// that takes longer. Half a commit makes 35-40 (about 5,000 commits, mean
/// wait 0.21 ms, mean commit 0.35-0.40 ms).
struct CommitGathering {
    static let maxQuietWait: TimeInterval = 0.000_5
    static let maxWait: TimeInterval = 0.001

    /// Frames to wait for before the next commit; 0: commit at once.
    private(set) var expectedFrames = 0
    /// The longest stretch in which no frame comes before the writer stops waiting.
    private(set) var quietWait: TimeInterval = 0
    /// The longest wait in all.
    private(set) var longestWait: TimeInterval = 0

    /// One wait before a commit: how long each stretch of it may last.
    struct Wait {
        let quietWait: TimeInterval
        let deadline: Date
        /// Frames queued when the last stretch began.
        private var framesSeen: Int

        fileprivate init(quietWait: TimeInterval, deadline: Date, framesSeen: Int) {
            self.quietWait = quietWait
            self.deadline = deadline
            self.framesSeen = framesSeen
        }

        /// When the first stretch ends, for a wait that starts at `now`.
        func firstStretchEnd(now: Date) -> Date {
            min(now.addingTimeInterval(quietWait), deadline)
        }

        /// A stretch ended at `now` with `queuedFrames` queued: when the next one
        /// ends, or nil if none came in it or the wait has lasted its longest.
        mutating func nextStretchEnd(queuedFrames: Int, now: Date) -> Date? {
            guard queuedFrames > framesSeen, now < deadline else { return nil }
            framesSeen = queuedFrames
            return firstStretchEnd(now: now)
        }
    }

    /// Notes a commit that acked `ackedFrames` frames and took `duration`,
    /// with `queuedFrames` frames already waiting when it ended.
    mutating func committed(ackedFrames: Int, queuedFrames: Int, duration: TimeInterval) {
        expectedFrames = ackedFrames > 0 ? ackedFrames + queuedFrames : 0
        let duration = max(duration, 0)
        quietWait = min(duration / 2, Self.maxQuietWait)
        longestWait = min(duration, Self.maxWait)
    }

    /// Whether the writer, with `queuedFrames` frames and `queuedBytes` of its
    /// queue's `queueLimit` bytes queued, waits for more: fewer frames than it
    /// expects, and the queue less than half full, so that appenders never
    /// wait for room because of it.
    func awaitsMore(queuedFrames: Int, queuedBytes: Int, queueLimit: Int) -> Bool {
        queuedFrames < expectedFrames && queuedBytes < queueLimit / 2
    }

    /// The wait that starts at `now` with `queuedFrames` frames queued.
    func startWaiting(queuedFrames: Int, now: Date) -> Wait {
        Wait(quietWait: quietWait, deadline: now.addingTimeInterval(longestWait), framesSeen: queuedFrames)
    }
}
