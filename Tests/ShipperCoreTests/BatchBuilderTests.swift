import XCTest
import Spool
@testable import ShipperCore

final class BatchBuilderTests: XCTestCase {
    /// Builds with "now" at the newest record, so only the rule under test is in play.
    private func build(_ records: [StoredRecord], limits: BatchLimits) -> PreparedBatch? {
        BatchBuilder.build(records, limits: limits, nowMilliseconds: (records.map(\.timeNanoseconds).max() ?? 0) / 1_000_000)
    }

    private func records(_ times: [Int64], size: Int = 10) -> [StoredRecord] {
        times.enumerated().map { StoredRecord(id: Int64($0.offset + 1), timeNanoseconds: $0.element * 1_000_000, message: [UInt8](repeating: 0x61, count: size)) }
    }

    func testEventsAreSortedByTimeAndTheCursorIsTheLastIncludedID() throws {
        let batch = try XCTUnwrap(build(records([3, 1, 2, 1]), limits: BatchLimits()))
        XCTAssertEqual(batch.events.map(\.timestamp), [1, 1, 2, 3])
        XCTAssertEqual(batch.throughID, 4)
    }

    func testEventCountLimit() throws {
        var limits = BatchLimits()
        limits.maxEvents = 3
        let batch = try XCTUnwrap(build(records([1, 2, 3, 4, 5]), limits: limits))
        XCTAssertEqual(batch.events.count, 3)
        XCTAssertEqual(batch.throughID, 3)
    }

    func testByteLimitCountsTheOverheadPerEvent() throws {
        // 10 events of 100 bytes + 26 = 1,260 bytes; with a 1,048,576 byte limit 8,322 fit.
        let many = records(Array(repeating: 1, count: 9_000), size: 100)
        let batch = try XCTUnwrap(build(many, limits: BatchLimits()))
        XCTAssertEqual(batch.events.count, 1_048_576 / 126)
        XCTAssertLessThanOrEqual(batch.events.reduce(0) { $0 + $1.message.count + 26 }, 1_048_576)
    }

    func testBatchNeverSpansMoreThan24Hours() throws {
        let day: Int64 = 24 * 3_600_000
        let batch = try XCTUnwrap(build(records([0, day / 2, day + 1, 5]), limits: BatchLimits()))
        XCTAssertEqual(batch.events.map(\.timestamp), [0, day / 2], "the batch stops before the record that would stretch it past 24 h")
        XCTAssertEqual(batch.throughID, 2)
    }

    func testOversizeMessageIsTruncatedOnACharacterBoundary() throws {
        var limits = BatchLimits()
        limits.maxEventBytes = 5
        let message = Array("abcdé".utf8) // 6 bytes; byte 5 is inside "é"
        let batch = try XCTUnwrap(build([StoredRecord(id: 1, timeNanoseconds: 0, message: message)], limits: limits))
        XCTAssertEqual(batch.events.first?.message, Array("abcd".utf8))
        XCTAssertEqual(batch.truncated, 1)
    }

    func testNoRecordsNoBatch() {
        XCTAssertNil(build([], limits: BatchLimits()))
    }

    func testRejectedIndexesFollowTheAPIReference() throws {
        let batch = try XCTUnwrap(build(records([1, 2, 3, 4, 5]), limits: BatchLimits()))
        // tooOldLogEventEndIndex is exclusive, tooNewLogEventStartIndex inclusive.
        let letters = BatchBuilder.rejected(["tooOldLogEventEndIndex": 2, "tooNewLogEventStartIndex": 4], in: batch)
        XCTAssertEqual(letters.map(\.recordID), [1, 2, 5])
        XCTAssertTrue(letters[0].reason.hasPrefix("tooOld"))
        XCTAssertTrue(letters[2].reason.hasPrefix("tooNew"))
        XCTAssertEqual(BatchBuilder.rejected(["expiredLogEventEndIndex": 1], in: batch).map(\.recordID), [1])
        XCTAssertEqual(BatchBuilder.rejected([:], in: batch), [])
    }

    func testEventsOutsideTheAcceptedAgeAreSetAsideBeforeSending() throws {
        let now: Int64 = 100 * 86_400_000
        let batch = try XCTUnwrap(BatchBuilder.build(records([now - 15 * 86_400_000, now, now + 3 * 3_600_000]), limits: BatchLimits(), nowMilliseconds: now))
        XCTAssertEqual(batch.events.map(\.timestamp), [now])
        XCTAssertEqual(batch.recordIDs, [2])
        XCTAssertEqual(batch.refused.map(\.recordID), [1, 3])
        XCTAssertEqual(batch.throughID, 3, "the refused records are delivered to dead letters with the batch")
    }

    func testOversizeEventsGoToDeadLettersWhenConfigured() throws {
        var limits = BatchLimits()
        limits.maxEventBytes = 5
        limits.truncateOversize = false
        let stored = [StoredRecord(id: 1, timeNanoseconds: 0, message: Array("abc".utf8)), StoredRecord(id: 2, timeNanoseconds: 0, message: Array("abcdefgh".utf8))]
        let batch = try XCTUnwrap(build(stored, limits: limits))
        XCTAssertEqual(batch.events.map(\.message), [Array("abc".utf8)])
        XCTAssertEqual(batch.refused.map(\.recordID), [2])
        XCTAssertTrue(batch.refused[0].reason.hasPrefix("oversize"))
        XCTAssertEqual(batch.throughID, 2)
    }
}
