import XCTest
@testable import Spool

/// The writer waits before a commit only for acked clients it can expect back, only while they keep coming, and never long.
final class CommitGatheringTests: XCTestCase {
    func testExpectsTheAckedFramesBackWithThoseAlreadyWaiting() {
        var gathering = CommitGathering()
        XCTAssertEqual(gathering.expectedFrames, 0, "nothing is expected before the first commit")
        gathering.committed(ackedFrames: 25, queuedFrames: 25, duration: 0.000_8)
        XCTAssertEqual(gathering.expectedFrames, 50, "the 25 acked clients come back to the 25 frames that came during the commit")
        XCTAssertEqual(gathering.quietWait, 0.000_4, accuracy: 1e-9, "a stretch without frames: half of the commit's time")
        XCTAssertEqual(gathering.longestWait, 0.000_8, accuracy: 1e-9, "in all: the commit's time")
    }

    func testALoneClientIsNeverWaitedForBeyondItsOwnNextFrame() {
        var gathering = CommitGathering()
        gathering.committed(ackedFrames: 1, queuedFrames: 0, duration: 0.000_4)
        XCTAssertEqual(gathering.expectedFrames, 1, "its next frame is all that is expected: it is committed as soon as it comes")
        XCTAssertFalse(gathering.awaitsMore(queuedFrames: 1, queuedBytes: 100, queueLimit: 1 << 20))
    }

    func testFramesNobodyWaitsForAreNotWaitedFor() {
        var gathering = CommitGathering()
        gathering.committed(ackedFrames: 0, queuedFrames: 300, duration: 0.002)
        XCTAssertEqual(gathering.expectedFrames, 0, "clients without acks keep sending anyway")
        XCTAssertFalse(gathering.awaitsMore(queuedFrames: 1, queuedBytes: 100, queueLimit: 1 << 20))
    }

    func testAHalfFullQueueIsNotWaitedOn() {
        var gathering = CommitGathering()
        gathering.committed(ackedFrames: 50, queuedFrames: 0, duration: 0.000_4)
        XCTAssertTrue(gathering.awaitsMore(queuedFrames: 10, queuedBytes: 1000, queueLimit: 4000))
        XCTAssertFalse(gathering.awaitsMore(queuedFrames: 10, queuedBytes: 2000, queueLimit: 4000), "appenders must never wait for room because of the wait")
        XCTAssertFalse(gathering.awaitsMore(queuedFrames: 50, queuedBytes: 1000, queueLimit: 4000), "every frame expected is in")
    }

    func testTheWaitStaysShortAfterASlowCommit() {
        var gathering = CommitGathering()
        gathering.committed(ackedFrames: 50, queuedFrames: 0, duration: 1.5)
        XCTAssertEqual(gathering.longestWait, CommitGathering.maxWait)
        XCTAssertEqual(gathering.quietWait, CommitGathering.maxQuietWait)
        XCTAssertLessThanOrEqual(CommitGathering.maxWait, 0.001, "a wait adds to the ack of every frame in the commit")
    }

    func testAStretchInWhichNoFrameCameEndsTheWait() {
        var gathering = CommitGathering()
        gathering.committed(ackedFrames: 50, queuedFrames: 0, duration: 0.000_8)
        let start = Date()
        var wait = gathering.startWaiting(queuedFrames: 5, now: start)
        let first = wait.firstStretchEnd(now: start)
        XCTAssertEqual(first.timeIntervalSince(start), 0.000_4, accuracy: 1e-6)
        XCTAssertNil(wait.nextStretchEnd(queuedFrames: 5, now: first), "the acked clients that have not come back are not waited for any longer")
    }

    func testFramesStillComingKeepTheWaitGoingUpToItsLongest() throws {
        var gathering = CommitGathering()
        gathering.committed(ackedFrames: 50, queuedFrames: 0, duration: 0.000_8)
        let start = Date()
        var wait = gathering.startWaiting(queuedFrames: 5, now: start)
        let first = wait.firstStretchEnd(now: start)
        let second = try XCTUnwrap(wait.nextStretchEnd(queuedFrames: 20, now: first), "frames came in the first stretch")
        XCTAssertEqual(second.timeIntervalSince(start), 0.000_8, accuracy: 1e-6, "the second stretch ends with the longest wait")
        XCTAssertNil(wait.nextStretchEnd(queuedFrames: 30, now: second.addingTimeInterval(0.000_01)), "past the longest wait, however fast they come")
        var fresh = gathering.startWaiting(queuedFrames: 5, now: start)
        XCTAssertNil(fresh.nextStretchEnd(queuedFrames: 5, now: start.addingTimeInterval(0.000_3)), "none came since the wait began")
        XCTAssertNotNil(fresh.nextStretchEnd(queuedFrames: 6, now: start.addingTimeInterval(0.000_3)), "one came: it goes on")
    }
}
