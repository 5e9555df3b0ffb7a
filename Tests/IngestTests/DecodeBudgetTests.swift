import Foundation
import XCTest
@testable import Ingest

/// The process-wide decode budget: who waits, who may always go on, and that a stop ends every wait.
final class DecodeBudgetTests: XCTestCase {
    /// Reserves on a thread of its own, as a connection does, and tells the test how it ended.
    private final class Waiter: @unchecked Sendable {
        // Safe to share: `done` is fulfilled once after `outcome` is written; `cancel` is behind `lock`.
        let done: XCTestExpectation
        private(set) var outcome: Result<Int, Error>?
        private let lock = NSLock()
        private var cancelled = false

        init(_ budget: DecodeBudget, bytes: Int, name: String) {
            done = XCTestExpectation(description: name)
            let thread = Thread { [self] in
                var reservation = DecodeBudget.Reservation()
                do {
                    try budget.reserve(bytes, into: &reservation) { self.isCancelled }
                    outcome = .success(reservation.bytes)
                } catch {
                    outcome = .failure(error)
                }
                done.fulfill()
                budget.release(&reservation)
            }
            thread.start()
        }

        func cancel() {
            lock.lock()
            cancelled = true
            lock.unlock()
        }

        private var isCancelled: Bool {
            lock.lock()
            defer { lock.unlock() }
            return cancelled
        }
    }

    /// Given as `cancelled` where a reservation must not wait: a wait then throws at once instead of hanging the test.
    private let mustNotWait: () -> Bool = { true }

    private func waitUntil(_ what: String, timeout: TimeInterval = 10, _ condition: () -> Bool) {
        let deadline = Date().addingTimeInterval(timeout)
        while !condition() && Date() < deadline { Thread.sleep(forTimeInterval: 0.005) }
        XCTAssertTrue(condition(), "timed out waiting until \(what)")
    }

    func testReservationsWithinTheLimitDoNotWaitAndReleaseGivesTheBytesBack() throws {
        let budget = DecodeBudget(limit: 1000)
        var first = DecodeBudget.Reservation()
        var second = DecodeBudget.Reservation()
        try budget.reserve(400, into: &first, cancelled: mustNotWait)
        try budget.reserve(200, into: &first, cancelled: mustNotWait)
        try budget.reserve(400, into: &second, cancelled: mustNotWait)
        XCTAssertEqual(budget.snapshot, .init(inUse: 1000, limit: 1000, waits: 0, waiting: 0))
        XCTAssertEqual(first.bytes, 600)
        budget.release(&first)
        XCTAssertEqual(first.bytes, 0)
        XCTAssertEqual(budget.snapshot.inUse, 400)
        budget.release(&second)
        XCTAssertEqual(budget.snapshot.inUse, 0)
    }

    func testAConnectionWaitsForRoomUntilAnotherReleases() throws {
        let budget = DecodeBudget(limit: 1000)
        var holder = DecodeBudget.Reservation()
        try budget.reserve(800, into: &holder, cancelled: mustNotWait)
        let waiter = Waiter(budget, bytes: 300, name: "the second connection")
        waitUntil("the second connection waits") { budget.snapshot.waiting == 1 }
        XCTAssertNil(waiter.outcome, "no room: it must not have gone on")
        budget.release(&holder)
        wait(for: [waiter.done], timeout: 10)
        XCTAssertEqual(try waiter.outcome?.get(), 300)
        XCTAssertEqual(budget.snapshot.waits, 1)
        XCTAssertEqual(budget.snapshot.waiting, 0)
    }

    func testAFrameLargerThanTheBudgetGoesThroughAloneAndOthersWaitForIt() throws {
        let budget = DecodeBudget(limit: 1000)
        var large = DecodeBudget.Reservation()
        try budget.reserve(5000, into: &large, cancelled: mustNotWait)
        XCTAssertEqual(budget.snapshot.inUse, 5000, "an empty budget lets one frame of any size through")
        let small = Waiter(budget, bytes: 10, name: "a small frame behind it")
        waitUntil("the small frame waits") { budget.snapshot.waiting == 1 }
        budget.release(&large)
        wait(for: [small.done], timeout: 10)
        XCTAssertEqual(try small.outcome?.get(), 10)
    }

    func testTheLongestHolderMayGrowPastTheLimitWhileALaterOneWaits() throws {
        let budget = DecodeBudget(limit: 1000)
        var oldest = DecodeBudget.Reservation()
        var later = DecodeBudget.Reservation()
        try budget.reserve(500, into: &oldest, cancelled: mustNotWait)
        try budget.reserve(500, into: &later, cancelled: mustNotWait)
        // Both are full and both want more: if the oldest waited too, neither would ever release.
        try budget.reserve(700, into: &oldest, cancelled: mustNotWait)
        XCTAssertEqual(budget.snapshot.inUse, 1700)
        let growing = Thread { [later] in
            var reservation = later
            try? budget.reserve(100, into: &reservation) { false }
        }
        growing.start()
        waitUntil("the later holder waits to grow") { budget.snapshot.waiting == 1 }
        budget.release(&oldest)
        waitUntil("the later holder grew once the oldest released") { budget.snapshot.inUse == 600 && budget.snapshot.waiting == 0 }
    }

    func testALargeFrameWaitingIsNotPassedBySmallerOnesAfterIt() throws {
        let budget = DecodeBudget(limit: 1000)
        var holder = DecodeBudget.Reservation()
        try budget.reserve(600, into: &holder, cancelled: mustNotWait)
        // The large frame gives its bytes back only after it is done, and the small one
        // cannot fit beside it (900 + 200 > 1000): so the small one can be done only after
        // the large one, and the order below does not depend on which thread runs first.
        let large = Waiter(budget, bytes: 900, name: "the large frame")
        waitUntil("the large frame waits") { budget.snapshot.waiting == 1 }
        let small = Waiter(budget, bytes: 200, name: "a small frame after it")
        waitUntil("the small frame waits too, though it would fit beside the holder") { budget.snapshot.waiting == 2 }
        XCTAssertNil(small.outcome)
        budget.release(&holder)
        wait(for: [large.done, small.done], timeout: 10, enforceOrder: true)
        XCTAssertEqual(try large.outcome?.get(), 900)
        XCTAssertEqual(try small.outcome?.get(), 200)
    }

    func testAStopEndsAWaitWithinATickAndKeepsNothingReserved() throws {
        let budget = DecodeBudget(limit: 1000)
        var holder = DecodeBudget.Reservation()
        try budget.reserve(1000, into: &holder, cancelled: mustNotWait)
        let waiter = Waiter(budget, bytes: 1, name: "a connection waiting at the stop")
        waitUntil("it waits") { budget.snapshot.waiting == 1 }
        let stopped = Date()
        waiter.cancel()
        wait(for: [waiter.done], timeout: 5)
        XCTAssertLessThan(Date().timeIntervalSince(stopped), budget.tick + 0.2, "gave up within one tick")
        guard case .failure(let error) = waiter.outcome else { return XCTFail("the wait should have been given up") }
        XCTAssertEqual(error as? DecodeBudgetError, .cancelled(wanted: 1, inUse: 1000, limit: 1000))
        XCTAssertEqual(budget.snapshot, .init(inUse: 1000, limit: 1000, waits: 0, waiting: 0))
        // The queue forgot it: the next one in line is not held behind it.
        budget.release(&holder)
        var next = DecodeBudget.Reservation()
        try budget.reserve(1000, into: &next, cancelled: mustNotWait)
        XCTAssertEqual(next.bytes, 1000)
    }
}

/// The form of the budget an event loop uses: it never waits, it is told when to ask again.
final class DecodeBudgetWithoutWaitingTests: XCTestCase {
    /// Counts how often the budget said room may have come.
    private final class Calls: @unchecked Sendable {
        // Safe to share: `lock` guards `count`.
        private let lock = NSLock()
        private var count = 0
        func add() { lock.lock(); count += 1; lock.unlock() }
        var value: Int { lock.lock(); defer { lock.unlock() }; return count }
    }

    func testWithoutRoomItAnswersAtOnceAndIsToldWhenToAskAgain() {
        let budget = DecodeBudget(limit: 1000)
        var holder = DecodeBudget.Reservation()
        var waiter = DecodeBudget.Reservation()
        let calls = Calls()
        XCTAssertTrue(budget.tryReserve(800, into: &holder) { calls.add() })
        XCTAssertFalse(budget.tryReserve(300, into: &waiter) { calls.add() })
        XCTAssertEqual(budget.snapshot, .init(inUse: 800, limit: 1000, waits: 0, waiting: 1))
        XCTAssertEqual(calls.value, 0, "no room has come yet")
        budget.release(&holder)
        XCTAssertEqual(calls.value, 1, "the release tells the waiter")
        XCTAssertTrue(budget.tryReserve(300, into: &waiter) { calls.add() }, "it keeps its place and now fits")
        XCTAssertEqual(budget.snapshot, .init(inUse: 300, limit: 1000, waits: 1, waiting: 0))
        budget.release(&waiter)
        XCTAssertEqual(budget.snapshot.inUse, 0)
    }

    func testAWaiterKeepsItsPlaceAheadOfLaterOnesAndCanLeaveTheLine() {
        let budget = DecodeBudget(limit: 1000)
        var holder = DecodeBudget.Reservation()
        var first = DecodeBudget.Reservation()
        var second = DecodeBudget.Reservation()
        XCTAssertTrue(budget.tryReserve(600, into: &holder) { })
        XCTAssertFalse(budget.tryReserve(900, into: &first) { })
        XCTAssertFalse(budget.tryReserve(100, into: &second) { }, "it would fit beside the holder, but the first is ahead in line")
        budget.cancelWait(&first)
        XCTAssertEqual(budget.snapshot.waiting, 1)
        XCTAssertTrue(budget.tryReserve(100, into: &second) { }, "once the first left the line, the second goes")
        XCTAssertEqual(budget.snapshot, .init(inUse: 700, limit: 1000, waits: 1, waiting: 0))
        budget.release(&holder)
        budget.release(&second)
        budget.release(&first)
        XCTAssertEqual(budget.snapshot, .init(inUse: 0, limit: 1000, waits: 1, waiting: 0))
    }
}
