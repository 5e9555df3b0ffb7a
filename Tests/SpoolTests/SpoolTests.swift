import Foundation
import XCTest
@testable import Spool

final class SpoolTests: XCTestCase {
    private var directory: URL!

    override func setUpWithError() throws {
        directory = FileManager.default.temporaryDirectory.appendingPathComponent("spool-test-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
    }

    override func tearDownWithError() throws {
        try? FileManager.default.removeItem(at: directory)
    }

    private var path: String { directory.appendingPathComponent("spool.sqlite").path }

    private func record(_ n: Int, stream: String = "s1", group: String = "g") -> SpoolRecord {
        SpoolRecord(logGroup: group, logStream: stream, tag: "t", timeNanoseconds: Int64(n) * 1_000_000, message: Array("m\(n)".utf8))
    }

    func testDurableAppendIsReadableInOrderAndDeliveryAdvancesTheCursor() throws {
        let spool = try Spool(configuration: .init(path: path))
        defer { spool.close() }
        try spool.append((0..<5).map { record($0) }, durable: true)
        try spool.append([record(5, stream: "s2")], durable: true)

        let streams = try spool.streamsWithPendingRecords()
        XCTAssertEqual(Set(streams.map(\.logStream)), ["s1", "s2"])
        let s1 = try XCTUnwrap(streams.first { $0.logStream == "s1" })
        let pending = try spool.undelivered(stream: s1.id, limit: 3)
        XCTAssertEqual(pending.map { String(decoding: $0.message, as: UTF8.self) }, ["m0", "m1", "m2"])

        try spool.markDelivered(stream: s1.id, through: pending[2].id)
        XCTAssertEqual(try spool.undelivered(stream: s1.id, limit: 10).map { String(decoding: $0.message, as: UTF8.self) }, ["m3", "m4"])
    }

    func testIDsAreNeverReusedAfterTheTableEmpties() throws {
        let spool = try Spool(configuration: .init(path: path))
        try spool.append((0..<100).map { record($0) }, durable: true)
        let stream = try XCTUnwrap(try spool.streamsWithPendingRecords().first)
        let first = try spool.undelivered(stream: stream.id, limit: 1000)
        try spool.markDelivered(stream: stream.id, through: try XCTUnwrap(first.last).id)
        XCTAssertEqual(try spool.recordCount(), 0, "delivered records are gone; the table is empty")
        spool.close()

        // Reopen (SQLite derives plain rowids from the current maximum, which is now gone) and append again.
        let reopened = try Spool(configuration: .init(path: path))
        defer { reopened.close() }
        try reopened.append((100..<150).map { record($0) }, durable: true)
        let again = try reopened.undelivered(stream: stream.id, limit: 1000)
        XCTAssertEqual(again.count, 50, "a cursor at \(first.last!.id) must still see every new record")
        XCTAssertGreaterThan(try XCTUnwrap(again.first).id, try XCTUnwrap(first.last).id)
    }

    func testCommittedRecordsSurviveReopening() throws {
        var spool: Spool? = try Spool(configuration: .init(path: path, sync: .normal))
        try spool?.append((0..<1000).map { record($0) }, durable: true)
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
                do { try spool.append([record(t * perThread + i, stream: "s\(t % 4)")], durable: true) } catch { failures.add() }
            }
        }
        XCTAssertEqual(failures.count, 0)
        XCTAssertEqual(try spool.recordCount(), threads * perThread)
        XCTAssertEqual(try spool.streamsWithPendingRecords().count, 4)
    }

    func testSpoolFileIsReadableByItsOwnerOnly() throws {
        let spool = try Spool(configuration: .init(path: path))
        try spool.append([record(1)], durable: true)
        defer { spool.close() }
        for file in [path, path + "-wal"] {
            let attributes = try FileManager.default.attributesOfItem(atPath: file)
            let permissions = try XCTUnwrap(attributes[.posixPermissions] as? Int)
            XCTAssertEqual(permissions & 0o077, 0, "\(file) has mode \(String(permissions, radix: 8))")
        }
    }

    func testAppendAfterCloseIsRefused() throws {
        let spool = try Spool(configuration: .init(path: path))
        spool.close()
        XCTAssertThrowsError(try spool.append([record(1)], durable: true)) { error in
            guard case SpoolError.closed = error else { return XCTFail("\(error)") }
        }
    }
}

private final class FailureCounter: @unchecked Sendable {
    private let lock = NSLock()
    private(set) var count = 0
    func add() {
        lock.lock()
        count += 1
        lock.unlock()
    }
}
