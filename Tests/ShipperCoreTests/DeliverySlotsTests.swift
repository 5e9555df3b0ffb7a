import XCTest
@testable import ShipperCore

final class DeliverySlotsTests: XCTestCase {
    /// What the acquirers did, in order.
    private actor Log {
        var entries: [String] = []
        func add(_ entry: String) { entries.append(entry) }
    }

    /// Waits (bounded) until `slots` has `count` waiters.
    private func waitForWaiters(_ slots: DeliverySlots, _ count: Int) async throws {
        let deadline = Date().addingTimeInterval(10)
        while slots.usage.waiting != count {
            guard Date() < deadline else {
                XCTFail("never saw \(count) waiters (have \(slots.usage.waiting))")
                throw CancellationError()
            }
            await Task.yield()
        }
    }

    func testWaitersAreServedFirstComeFirstServed() async throws {
        let slots = DeliverySlots(count: 1)
        let log = Log()
        try await slots.acquire()
        let first = Task {
            try await slots.acquire()
            await log.add("first")
            slots.release()
        }
        try await waitForWaiters(slots, 1)
        let second = Task {
            try await slots.acquire()
            await log.add("second")
            slots.release()
        }
        try await waitForWaiters(slots, 2)
        let beforeRelease = await log.entries
        XCTAssertEqual(beforeRelease, [], "nobody gets a slot while the only one is held")
        slots.release()
        try await first.value
        try await second.value
        let entries = await log.entries
        XCTAssertEqual(entries, ["first", "second"])
    }

    func testACancelledWaiterLeavesTheQueueAndTakesNoSlot() async throws {
        let slots = DeliverySlots(count: 1)
        try await slots.acquire()
        let waiter = Task { try await slots.acquire() }
        try await waitForWaiters(slots, 1)
        waiter.cancel()
        do {
            try await waiter.value
            XCTFail("a cancelled waiter does not get a slot")
        } catch is CancellationError {}
        XCTAssertEqual(slots.usage.waiting, 0)
        XCTAssertEqual(slots.usage.held, 1)
        slots.release()
        XCTAssertEqual(slots.usage.held, 0)
        // The slot is free again: taking it does not wait.
        try await slots.acquire()
        XCTAssertEqual(slots.usage.held, 1)
        XCTAssertEqual(slots.usage.waiting, 0)
    }

    func testNoMoreHoldersThanSlots() async throws {
        let slots = DeliverySlots(count: 3)
        actor Counter {
            var now = 0
            var most = 0
            func enter() { now += 1; most = max(most, now) }
            func leave() { now -= 1 }
        }
        let counter = Counter()
        try await withThrowingTaskGroup(of: Void.self) { group in
            for _ in 0..<20 {
                group.addTask {
                    try await slots.acquire()
                    await counter.enter()
                    for _ in 0..<5 { await Task.yield() }
                    await counter.leave()
                    slots.release()
                }
            }
            try await group.waitForAll()
        }
        let most = await counter.most
        XCTAssertLessThanOrEqual(most, 3)
        XCTAssertGreaterThan(most, 0)
    }
}
