import Foundation
import XCTest
@testable import Spool

final class SpoolTests: SpoolFileTestCase {
    private static func store(_ spool: Spool, _ records: [SpoolRecord], chunk: String? = nil) throws {
        try spool.append([SpoolAppend(chunk: chunk.map { Array($0.utf8) }, records: SpoolRecords(records))], durable: true)
    }

    /// Bytes no two records share much of: what fills a spool when shapes save nothing.
    private static func noise(_ count: Int) -> [UInt8] {
        (0..<count).map { _ in UInt8.random(in: 0x61...0x7a) }
    }

    private static func record(_ n: Int, stream: String = "s1", group: String = "g") -> SpoolRecord {
        SpoolRecord(output: .first, logGroup: group, logStream: stream, tag: "t", timeNanoseconds: Int64(n) * 1_000_000, message: Array("m\(n)".utf8))
    }

    func testDurableAppendIsReadableInOrderAndDeliveryAdvancesTheCursor() throws {
        let spool = try Spool(configuration: .init(path: path))
        defer { spool.close() }
        try Self.store(spool, (0..<5).map { Self.record($0) })
        try Self.store(spool, [Self.record(5, stream: "s2")])

        let streams = try spool.streamsWithPendingRecords()
        XCTAssertEqual(Set(streams.map(\.logStream)), ["s1", "s2"])
        let s1 = try XCTUnwrap(streams.first { $0.logStream == "s1" })
        let pending = try spool.undelivered(stream: s1.id, limit: 3)
        XCTAssertEqual(pending.map { String(decoding: $0.message, as: UTF8.self) }, ["m0", "m1", "m2"])

        try spool.markDelivered(stream: s1.id, through: pending[2].id)
        XCTAssertEqual(try spool.undelivered(stream: s1.id, limit: 10).map { String(decoding: $0.message, as: UTF8.self) }, ["m3", "m4"])
    }

    func testPackedRecordsKeepEveryRecordAcrossRunsAndManyDestinations() throws {
        // Runs of one tag and stream, then 20 streams in turn (more than the packer searches back).
        var records = (0..<10).map { SpoolRecord(output: .first, logGroup: "g", logStream: "s0", tag: "t", timeNanoseconds: Int64($0), message: Array("r\($0)".utf8)) }
        for n in 10..<70 {
            let tag = n % 3 == 0 ? "" : "t\(n % 3)"
            let message: [UInt8] = n % 7 == 0 ? [] : Array("r\(n)".utf8)
            records.append(SpoolRecord(output: .first, logGroup: "g\(n % 2)", logStream: "s\(n % 20)", tag: tag, timeNanoseconds: Int64(n), message: message))
        }
        let packed = SpoolRecords(records)
        XCTAssertEqual(Array(packed), records)
        // Frames are views of one buffer, as a connection hands over what one read brought.
        let frames = [packed.frame(0..<10), packed.frame(10..<10), packed.frame(10..<70)]
        XCTAssertEqual(frames.map { Array($0) }, [Array(records[0..<10]), [], Array(records[10..<70])])
        XCTAssertEqual(frames.map(\.byteCount).reduce(0, +), packed.byteCount)

        let spool = try Spool(configuration: .init(path: path))
        defer { spool.close() }
        try spool.append(frames.enumerated().map { SpoolAppend(chunk: Array("c\($0.offset)".utf8), records: $0.element) }, durable: true)
        XCTAssertTrue((0..<3).allSatisfy { spool.hasCommitted(chunk: Array("c\($0)".utf8)) })
        var stored = 0
        for stream in try spool.streamsWithPendingRecords() {
            let expected = records.filter { $0.logGroup == stream.logGroup && $0.logStream == stream.logStream }
            let read = try spool.undelivered(stream: stream.id, limit: 100)
            XCTAssertEqual(read.map(\.message), expected.map(\.message), "\(stream.logGroup)/\(stream.logStream)")
            XCTAssertEqual(read.map(\.timeNanoseconds), expected.map(\.timeNanoseconds))
            stored += read.count
        }
        XCTAssertEqual(stored, records.count)
    }

    func testUndeliveredStopsOnceTheMessagesReachTheByteBound() throws {
        let spool = try Spool(configuration: .init(path: path))
        defer { spool.close() }
        try Self.store(spool, (0..<10).map { SpoolRecord(output: .first, logGroup: "g", logStream: "s1", tag: "t", timeNanoseconds: Int64($0), message: Array(repeating: 0x61, count: 1000)) })
        let stream = try XCTUnwrap(try spool.streamsWithPendingRecords().first)
        // The record that reaches the bound is read too, so the batch builder sees the batch is full.
        XCTAssertEqual(try spool.undelivered(stream: stream.id, limit: 100, maxBytes: 3500).map(\.timeNanoseconds), [0, 1, 2, 3])
        XCTAssertEqual(try spool.undelivered(stream: stream.id, limit: 100, maxBytes: 4000).count, 4)
        XCTAssertEqual(try spool.undelivered(stream: stream.id, limit: 2, maxBytes: 4000).count, 2)
        XCTAssertEqual(try spool.undelivered(stream: stream.id, limit: 100).count, 10)
    }

    func testRowsInsertedManyPerStatementKeepTheirOrderStreamAndBytes() throws {
        let spool = try Spool(configuration: .init(path: path))
        defer { spool.close() }
        // 2 full multi-row statements and a remainder, streams interleaved, one empty tag and message.
        var records = (0..<37).map { Self.record($0, stream: $0 % 3 == 0 ? "s2" : "s1") }
        records[20] = SpoolRecord(output: .first, logGroup: "g", logStream: "s1", tag: "", timeNanoseconds: 20_000_000, message: [])
        try Self.store(spool, records, chunk: "c")

        for name in ["s1", "s2"] {
            let stream = try XCTUnwrap(try spool.streamsWithPendingRecords().first { $0.logStream == name })
            let stored = try spool.undelivered(stream: stream.id, limit: 100)
            let expected = records.filter { $0.logStream == name }
            XCTAssertEqual(stored.map(\.message), expected.map(\.message), name)
            XCTAssertEqual(stored.map(\.timeNanoseconds), expected.map(\.timeNanoseconds), name)
            XCTAssertEqual(stored.map(\.id), stored.map(\.id).sorted(), "ids follow the order of arrival")
        }
        XCTAssertTrue(spool.hasCommitted(chunk: Array("c".utf8)))
    }

    func testIDsAreNeverReusedAfterTheTableEmpties() throws {
        let spool = try Spool(configuration: .init(path: path, keepDelivered: 0))
        try Self.store(spool, (0..<100).map { Self.record($0) })
        let stream = try XCTUnwrap(try spool.streamsWithPendingRecords().first)
        let first = try spool.undelivered(stream: stream.id, limit: 1000)
        // A dead letter keeps the stream's row and cursor: an idle stream without one is pruned.
        try spool.markDelivered(stream: stream.id, through: try XCTUnwrap(first.last).id, deadLetters: [DeadLetter(recordID: first[0].id, reason: "kept")])
        spool.runMaintenance()
        XCTAssertEqual(try spool.recordCount(), 0, "delivered records are gone; the table is empty")
        spool.close()

        // Reopen (SQLite derives plain rowids from the current maximum, which is now gone) and append again.
        let reopened = try Spool(configuration: .init(path: path))
        defer { reopened.close() }
        try Self.store(reopened, (100..<150).map { Self.record($0) })
        let again = try reopened.undelivered(stream: stream.id, limit: 1000)
        XCTAssertEqual(again.count, 50, "a cursor at \(first.last!.id) must still see every new record")
        XCTAssertGreaterThan(try XCTUnwrap(again.first).id, try XCTUnwrap(first.last).id)
    }

    /// Invariant 3: only `markDelivered` moves a stream's cursor, so a batch read but never marked
    /// delivered (CloudWatch had not accepted it when the shipper stopped) is read again whole after
    /// the spool is closed and reopened, and once marked it is not read again, after a reopen either.
    func testTheCursorMovesOnlyOnceABatchIsMarkedDeliveredSoAnUnmarkedOneIsReadAgainAfterAReopen() throws {
        func messages(_ records: [StoredRecord]) -> [String] { records.map { String(decoding: $0.message, as: UTF8.self) } }
        let first = try Spool(configuration: .init(path: path))
        try Self.store(first, (0..<10).map { Self.record($0) })
        let stream = try XCTUnwrap(try first.streamsWithPendingRecords().first)
        let inFlight = try first.undelivered(stream: stream.id, limit: 4)
        XCTAssertEqual(messages(inFlight), ["m0", "m1", "m2", "m3"])
        XCTAssertEqual(try first.undelivered(stream: stream.id, limit: 4), inFlight, "reading does not move the cursor")
        first.close()

        let second = try Spool(configuration: .init(path: path))
        XCTAssertEqual(try second.streamsWithPendingRecords().map(\.id), [stream.id])
        let again = try second.undelivered(stream: stream.id, limit: 4)
        XCTAssertEqual(again, inFlight, "a batch never marked delivered is read again, whole, after a reopen")
        try second.markDelivered(stream: stream.id, through: try XCTUnwrap(again.last).id)
        XCTAssertEqual(messages(try second.undelivered(stream: stream.id, limit: 10)), (4..<10).map { "m\($0)" })
        second.close()

        let third = try Spool(configuration: .init(path: path))
        defer { third.close() }
        let rest = try third.undelivered(stream: stream.id, limit: 10)
        XCTAssertEqual(messages(rest), (4..<10).map { "m\($0)" }, "a batch marked delivered is not read again after a reopen")
        XCTAssertEqual(try third.streamsWithPendingRecords().first?.deliveredThrough, inFlight.last?.id)
    }

    func testCommittedRecordsSurviveReopening() throws {
        var spool: Spool? = try Spool(configuration: .init(path: path, sync: .normal))
        try spool.map { try Self.store($0, (0..<1000).map { Self.record($0) }) }
        spool?.close()
        spool = nil
        let reopened = try Spool(configuration: .init(path: path))
        defer { reopened.close() }
        XCTAssertEqual(try reopened.recordCount(), 1000)
    }

    func testConcurrentDurableAppendsAreAllCommitted() throws {
        let spool = try Spool(configuration: .init(path: path))
        defer { spool.close() }
        let threads = 16
        let perThread = 200
        let failures = FailureCounter()
        DispatchQueue.concurrentPerform(iterations: threads) { t in
            for i in 0..<perThread {
                do { try Self.store(spool, [Self.record(t * perThread + i, stream: "s\(t % 4)")]) } catch { failures.add() }
            }
        }
        XCTAssertEqual(failures.count, 0)
        XCTAssertEqual(try spool.recordCount(), threads * perThread)
        XCTAssertEqual(try spool.streamsWithPendingRecords().count, 4)
    }

    func testSpoolFileIsReadableByItsOwnerOnly() throws {
        #if os(Windows)
        throw XCTSkip("Windows keeps the spool to its owner with a protected DACL (OwnerOnlyFile), not a mode: Foundation's posixPermissions there do not come from the ACL and say nothing about who may read it")
        #else
        let spool = try Spool(configuration: .init(path: path))
        try Self.store(spool, [Self.record(1)])
        defer { spool.close() }
        for file in [path, path + "-wal"] {
            let attributes = try FileManager.default.attributesOfItem(atPath: file)
            let permissions = try XCTUnwrap(attributes[.posixPermissions] as? Int)
            XCTAssertEqual(permissions & 0o077, 0, "\(file) has mode \(String(permissions, radix: 8))")
        }
        #endif
    }

    func testAppendAfterCloseIsRefused() throws {
        let spool = try Spool(configuration: .init(path: path))
        spool.close()
        XCTAssertThrowsError(try Self.store(spool, [Self.record(1)])) { error in
            guard case SpoolError.closed = error else { return XCTFail("\(error)") }
        }
    }
}

extension SpoolTests {
    func testAResentChunkIsStoredOnceEvenAfterARestart() throws {
        var spool = try Spool(configuration: .init(path: path))
        try Self.store(spool, [Self.record(1)], chunk: "chunk-1")
        try Self.store(spool, [Self.record(1)], chunk: "chunk-1")
        try spool.append([SpoolAppend(chunk: Array("chunk-2".utf8), records: SpoolRecords([Self.record(2)])),
                          SpoolAppend(chunk: Array("chunk-2".utf8), records: SpoolRecords([Self.record(2)]))], durable: true)
        XCTAssertEqual(try spool.recordCount(), 2)
        XCTAssertEqual(spool.duplicateFrames, 2)
        spool.close()

        spool = try Spool(configuration: .init(path: path))
        defer { spool.close() }
        try Self.store(spool, [Self.record(1)], chunk: "chunk-1")
        try Self.store(spool, [Self.record(3)], chunk: "chunk-3")
        XCTAssertEqual(try spool.recordCount(), 3, "the chunk committed before the restart is recognised")
    }

    func testDeliveredRecordsStayForTheReplayWindowThenGo() throws {
        let keeping = try Spool(configuration: .init(path: path, keepDelivered: 3600))
        try Self.store(keeping, (0..<10).map { Self.record($0) })
        let stream = try XCTUnwrap(try keeping.streamsWithPendingRecords().first)
        try keeping.markDelivered(stream: stream.id, through: try XCTUnwrap(try keeping.undelivered(stream: stream.id, limit: 100).last).id)
        keeping.runMaintenance()
        XCTAssertEqual(try keeping.recordCount(), 10, "inside the window, delivered records stay for replays")
        XCTAssertEqual(try keeping.streamsWithPendingRecords().count, 0)
        keeping.close()

        let expiring = try Spool(configuration: .init(path: path, keepDelivered: 0))
        defer { expiring.close() }
        expiring.runMaintenance()
        XCTAssertEqual(try expiring.recordCount(), 0)
    }

    func testRefusedRecordsMoveToDeadLettersWithTheirReason() throws {
        let spool = try Spool(configuration: .init(path: path))
        defer { spool.close() }
        try Self.store(spool, (0..<3).map { Self.record($0) })
        let stream = try XCTUnwrap(try spool.streamsWithPendingRecords().first)
        let records = try spool.undelivered(stream: stream.id, limit: 10)
        try spool.markDelivered(stream: stream.id, through: records[2].id, deadLetters: [DeadLetter(recordID: records[0].id, reason: "tooOld")])
        XCTAssertEqual(try spool.deadLetterCount(), 1)
        XCTAssertEqual(try spool.streamsWithPendingRecords().count, 0)
    }

    func testOverTheLimitIntakePausesUntilDeliveredRecordsAreEvicted() throws {
        let spool = try Spool(configuration: .init(path: path, totalLimitBytes: 256 * 1024, keepDelivered: 3600))
        defer { spool.close() }
        let big = (0..<200).map { n in
            SpoolRecord(output: .first, logGroup: "g", logStream: "s", tag: "t", timeNanoseconds: Int64(n), message: Self.noise(2_000))
        }
        try Self.store(spool, big)
        XCTAssertEqual(spool.backpressureReason, "storage.total_limit_size reached")

        // A client's append now waits instead of failing or dropping.
        let appended = DispatchSemaphore(value: 0)
        DispatchQueue.global().async {
            try? Self.store(spool, [Self.record(999)], chunk: "after-pause")
            appended.signal()
        }
        XCTAssertEqual(appended.wait(timeout: .now() + 1.5), .timedOut, "the append must wait while over the limit")

        // Delivering lets maintenance evict the delivered rows (despite the replay window) and resume intake.
        let stream = try XCTUnwrap(try spool.streamsWithPendingRecords().first)
        try spool.markDelivered(stream: stream.id, through: try XCTUnwrap(try spool.undelivered(stream: stream.id, limit: 1000).last).id)
        spool.runMaintenance()
        XCTAssertEqual(appended.wait(timeout: .now() + 10), .success, "intake resumes below the low watermark")
        XCTAssertNil(spool.backpressureReason)
        XCTAssertEqual(try spool.recordCount(), 1)
    }

    func testStoppingIntakeRefusesAppendsThatWaitForRoom() throws {
        let spool = try Spool(configuration: .init(path: path, totalLimitBytes: 256 * 1024))
        defer { spool.close() }
        try Self.store(spool, (0..<200).map { n in
            SpoolRecord(output: .first, logGroup: "g", logStream: "s", tag: "t", timeNanoseconds: Int64(n), message: Self.noise(2_000))
        })
        XCTAssertNotNil(spool.backpressureReason)
        let refused = DispatchSemaphore(value: 0)
        let outcome = Outcome()
        DispatchQueue.global().async {
            do { try Self.store(spool, [Self.record(999)], chunk: "waits") } catch { outcome.set(error) }
            refused.signal()
        }
        XCTAssertEqual(refused.wait(timeout: .now() + 1), .timedOut, "the append waits while paused")
        let stopped = Date()
        spool.stopIntake()
        XCTAssertEqual(refused.wait(timeout: .now() + 5), .success)
        XCTAssertLessThan(Date().timeIntervalSince(stopped), 0.5, "refused at once, not at the next poll")
        let refusal = outcome.error
        guard case SpoolError.closed? = refusal else { return XCTFail("expected SpoolError.closed, got \(String(describing: refusal))") }
        XCTAssertThrowsError(try Self.store(spool, [Self.record(1000)]), "a new append while paused is refused too")
        XCTAssertEqual(try spool.recordCount(), 200, "nothing refused was stored")
    }

    func testAfterStoppingIntakeAppendsWithRoomAreStillCommitted() throws {
        let spool = try Spool(configuration: .init(path: path))
        defer { spool.close() }
        spool.stopIntake()
        try Self.store(spool, [Self.record(1)], chunk: "drained")
        XCTAssertEqual(try spool.recordCount(), 1)
        XCTAssertTrue(spool.hasCommitted(chunk: Array("drained".utf8)))
    }

    func testUndeliveredRecordsAreNeverEvictedToMakeRoom() throws {
        let spool = try Spool(configuration: .init(path: path, totalLimitBytes: 128 * 1024))
        defer { spool.close() }
        let big = (0..<100).map { n in
            SpoolRecord(output: .first, logGroup: "g", logStream: "s", tag: "t", timeNanoseconds: Int64(n), message: Self.noise(2_000))
        }
        try Self.store(spool, big)
        spool.runMaintenance()
        XCTAssertNotNil(spool.backpressureReason)
        XCTAssertEqual(try spool.recordCount(), 100)
    }

    func testTheWALStaysBoundedUnderAContinuousWriterWithReaders() throws {
        let spool = try Spool(configuration: .init(path: path, sync: .normal))
        defer { spool.close() }
        let messages = (0..<1_000).map { _ in Self.noise(1_000) }
        for round in 0..<100 {
            // 100 rounds of 1,000 records: 100 MB through the WAL, with a reader in between.
            let rows = (0..<1_000).map { SpoolRecord(output: .first, logGroup: "g", logStream: "s", tag: "t", timeNanoseconds: Int64(round * 1_000 + $0), message: messages[$0]) }
            try spool.append([SpoolAppend(chunk: nil, records: SpoolRecords(rows))], durable: false)
            _ = try spool.streamsWithPendingRecords()
        }
        try Self.store(spool, [Self.record(0)])
        let wal = try XCTUnwrap(try FileManager.default.attributesOfItem(atPath: path + "-wal")[.size] as? Int)
        XCTAssertLessThan(wal, 80 << 20, "the WAL is checkpointed and restarted, not grown to the data's size")
    }

    func testADamagedSpoolIsMovedAsideAndAFreshOneStarted() throws {
        try Data(repeating: 0x5a, count: 8192).write(to: URL(fileURLWithPath: path))
        let spool = try Spool(configuration: .init(path: path))
        try Self.store(spool, [Self.record(1)])
        XCTAssertEqual(try spool.recordCount(), 1)
        spool.close()
        let moved = try FileManager.default.contentsOfDirectory(atPath: directory.path).filter { $0.contains(".corrupt-") }
        XCTAssertEqual(moved.count, 1, "the damaged file is kept under a timestamped name")
    }

    func testADamagedSpoolStopsTheStartWhenConfiguredTo() throws {
        try Data(repeating: 0x5a, count: 8192).write(to: URL(fileURLWithPath: path))
        XCTAssertThrowsError(try Spool(configuration: .init(path: path, onCorruption: .stop))) { error in
            guard case SpoolError.corrupt = error else { return XCTFail("\(error)") }
        }
        XCTAssertTrue(FileManager.default.fileExists(atPath: path), "the file is left where it was")
    }
}

private final class FailureCounter: @unchecked Sendable {
    // Safe to share: `lock` guards `failures`, for the appending threads' `add` and the test's `count`.
    private let lock = NSLock()
    private var failures = 0
    func add() {
        lock.lock()
        failures += 1
        lock.unlock()
    }

    var count: Int {
        lock.lock()
        defer { lock.unlock() }
        return failures
    }
}

/// What an append on another thread threw.
private final class Outcome: @unchecked Sendable {
    // Safe to share: `lock` guards `stored`, set on the appending thread and read on the test's.
    private let lock = NSLock()
    private var stored: Error?

    var error: Error? {
        lock.lock()
        defer { lock.unlock() }
        return stored
    }

    func set(_ error: Error) {
        lock.lock()
        stored = error
        lock.unlock()
    }
}
