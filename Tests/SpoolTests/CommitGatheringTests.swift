import XCTest
@testable import Spool

/// The writer waits before a commit only for acked clients it can expect back, and never long.
final class CommitGatheringTests: XCTestCase {
    func testExpectsTheAckedFramesBackWithThoseAlreadyWaiting() {
        var gathering = CommitGathering()
        XCTAssertEqual(gathering.expectedFrames, 0, "nothing is expected before the first commit")
        gathering.committed(ackedFrames: 25, queuedFrames: 25, duration: 0.000_8)
        XCTAssertEqual(gathering.expectedFrames, 50, "the 25 acked clients come back to the 25 frames that came during the commit")
        XCTAssertEqual(gathering.longestWait, 0.000_2, accuracy: 1e-9, "a quarter of the commit's time")
    }

    func testALoneClientIsNeverWaitedForBeyondItsOwnNextFrame() {
        var gathering = CommitGathering()
        gathering.committed(ackedFrames: 1, queuedFrames: 0, duration: 0.000_4)
        XCTAssertEqual(gathering.expectedFrames, 1, "its next frame is all that is expected: it is committed as soon as it comes")
    }

    func testFramesNobodyWaitsForAreNotWaitedFor() {
        var gathering = CommitGathering()
        gathering.committed(ackedFrames: 0, queuedFrames: 300, duration: 0.002)
        XCTAssertEqual(gathering.expectedFrames, 0, "clients without acks keep sending anyway")
    }

    func testTheWaitStaysShortAfterASlowCommit() {
        var gathering = CommitGathering()
        gathering.committed(ackedFrames: 50, queuedFrames: 0, duration: 1.5)
        XCTAssertEqual(gathering.longestWait, CommitGathering.maxWait)
        XCTAssertLessThanOrEqual(CommitGathering.maxWait, 0.001, "a wait adds to the ack of every frame in the commit")
    }
}
