import Foundation
import XCTest
@testable import Spool

/// Reading a damaged spool around its bad pages, and copying what it had not delivered.
final class SpoolSalvageTests: SpoolFileTestCase {
    private let count = 3_000

    /// Docker-like JSON, so that most records are stored as a shape's middle.
    private func message(_ n: Int) -> [UInt8] {
        Array(#"{"container_id":"61f5e6\#(String(repeating: "0", count: 58))","container_name":"/ecs-app-1","log":"line \#(n)","source":"stdout"}"#.utf8)
    }

    /// A closed spool of `count` records over two streams, s1 delivered through record 1000.
    private func makeSpool() throws -> [Int64: SpoolRecord] {
        let spool = try Spool(configuration: .init(path: path))
        let records = (0..<count).map { n in
            SpoolRecord(output: .first, logGroup: "g", logStream: n % 2 == 0 ? "s1" : "s2", tag: "t\(n % 3)", timeNanoseconds: Int64(n) * 1_000_000 + 7, message: message(n))
        }
        for start in stride(from: 0, to: count, by: 100) {
            try spool.append([SpoolAppend(chunk: nil, records: SpoolRecords(Array(records[start..<start + 100])))], durable: true)
        }
        let s1 = try XCTUnwrap(try spool.streamsWithPendingRecords().first { $0.logStream == "s1" })
        try spool.markDelivered(stream: s1.id, through: 1000)
        spool.close()
        // Ids are given in append order from 1.
        return Dictionary(uniqueKeysWithValues: records.enumerated().map { (Int64($0.offset + 1), $0.element) })
    }

    /// Overwrites `pages` leaf pages of the records table, from the middle of the file, with garbage.
    private func damageRecordPages(_ pages: Int) throws -> [Int] {
        let database = try SQLiteDatabase(path: path, create: false)
        let statement = try database.prepare("SELECT pageno FROM dbstat WHERE name = 'records' AND pagetype = 'leaf' ORDER BY pageno")
        var leaves: [Int] = []
        while try statement.step() { leaves.append(Int(statement.int64(0))) }
        database.close()
        XCTAssertGreaterThan(leaves.count, pages * 4)
        let chosen = Array(leaves[leaves.count / 2..<leaves.count / 2 + pages])
        let file = try FileHandle(forWritingTo: URL(fileURLWithPath: path))
        defer { try? file.close() }
        for page in chosen {
            try file.seek(toOffset: UInt64((page - 1) * 4096))
            file.write(Data((0..<4096).map { _ in UInt8.random(in: 0...255) }))
        }
        return chosen
    }

    func testTheBisectingReaderReadsEveryRecordAroundDamagedPages() throws {
        let original = try makeSpool()
        let shaped = try SQLiteDatabase(path: path, create: false).integer("SELECT count(*) FROM records WHERE shape IS NOT NULL")
        XCTAssertGreaterThan(shaped, Int64(count / 2), "most records use a shape, so reading puts messages together")
        _ = try damageRecordPages(2)
        let size = try XCTUnwrap(try FileManager.default.attributesOfItem(atPath: path)[.size] as? Int)
        try FileHandle(forWritingTo: URL(fileURLWithPath: path)).truncate(atOffset: UInt64(size - 3 * 4096))

        let damaged = try Data(contentsOf: URL(fileURLWithPath: path))
        let reader = try DamagedSpoolReader(path: path, owner: { _ in .first })
        var read: [Int64: DamagedRecord] = [:]
        let unreadable = try reader.records { read[$0.id] = $0 }.ids
        XCTAssertEqual(try Data(contentsOf: URL(fileURLWithPath: path)), damaged, "reading writes nothing to the file")

        XCTAssertFalse(unreadable.isEmpty, "the damaged pages' rows are reported")
        XCTAssertEqual(Int64(read.count) + unreadable.count, Int64(count), "every id is either read or reported: \(unreadable)")
        XCTAssertGreaterThan(read.count, count / 2, "a bad page costs only its rows: \(unreadable)")
        for (id, record) in read {
            let expected = try XCTUnwrap(original[id])
            XCTAssertEqual(record.message, expected.message, "record \(id)")
            XCTAssertEqual(record.timeNanoseconds, expected.timeNanoseconds)
            XCTAssertEqual(record.tag, expected.tag)
        }
        // Damage in the middle: records on both sides of it are read.
        let firstLost = try XCTUnwrap(unreadable.ranges.first).first
        XCTAssertTrue(read.keys.contains { $0 > firstLost })
        XCTAssertEqual(try reader.streams().byID.count, 2)
    }

    func testSalvageCopiesEachUndeliveredReadableRecordOnce() throws {
        _ = try makeSpool()
        // Records whose shape row is gone must be reported, not copied empty.
        let database = try SQLiteDatabase(path: path, create: false)
        try database.execute("UPDATE records SET shape = 999999 WHERE id BETWEEN 2001 AND 2010")
        database.close()
        _ = try damageRecordPages(2)

        let livePath = directory.appendingPathComponent("live.sqlite").path
        let live = try Spool(configuration: .init(path: livePath))
        defer { live.close() }
        let report = try SpoolSalvage.run(damaged: path, into: livePath)

        XCTAssertEqual(report.alreadyDelivered, 500, "s1's records up to id 1000 were delivered")
        XCTAssertTrue((1...10).contains(report.missingShape.count), "\(report.missingShape)")
        XCTAssertFalse(report.unreadableRecords.isEmpty)
        XCTAssertEqual(Int64(report.recordsRead) + report.unreadableRecords.count, Int64(count))
        XCTAssertEqual(Int64(report.copied + report.alreadyDelivered) + report.missingShape.count, Int64(report.recordsRead))
        XCTAssertEqual(report.streamsCopiedTo, 2)
        XCTAssertFalse(report.isComplete)
        try assertStreamIndexExact(livePath, "after the salvage")

        var copied: [[UInt8]] = []
        for stream in try live.streamsWithPendingRecords() {
            copied += try live.undelivered(stream: stream.id, limit: count).map(\.message)
        }
        XCTAssertEqual(copied.count, report.copied)
        XCTAssertEqual(Set(copied).count, copied.count, "each record once")
        XCTAssertFalse(copied.contains([]), "no record copied without its message")

        let again = try SpoolSalvage.run(damaged: path, into: livePath)
        XCTAssertEqual(again.copied, 0, "a second run copies nothing")
        XCTAssertEqual(again.alreadySalvaged, report.copied)
        XCTAssertEqual(try live.recordCount(), report.copied)
    }

    /// A damaged spool keeps its streams' outputs in the live one; one from before format 4
    /// (no outputs) gives each stream the output the caller's rule names for its group.
    func testSalvagedStreamsKeepTheirOutputOrAreGivenTheOneThatSendsThem() throws {
        let europe = SpoolOutput(index: 1, name: "europe")
        let livePath = directory.appendingPathComponent("live.sqlite").path
        let streamOutputs = { (spool: Spool) in try spool.streamsWithPendingRecords().map { "\($0.output.name) \($0.logStream)" }.sorted() }
        do {
            let spool = try Spool(configuration: .init(path: path))
            try spool.append([SpoolAppend(chunk: nil, records: SpoolRecords([
                SpoolRecord(output: .first, logGroup: "g", logStream: "s1", tag: "t", timeNanoseconds: 1, message: message(1)),
                SpoolRecord(output: europe, logGroup: "g", logStream: "s1", tag: "t", timeNanoseconds: 2, message: message(2)),
            ]))], durable: true)
            spool.close()
        }
        do {
            let live = try Spool(configuration: .init(path: livePath))
            defer { live.close() }
            XCTAssertEqual(try SpoolSalvage.run(damaged: path, into: livePath, owner: { _ in .first }).copied, 2)
            XCTAssertEqual(try streamOutputs(live), ["cloudwatch_logs.0 s1", "europe s1"], "each stream to its own output")
        }
        try FileManager.default.removeItem(atPath: livePath)
        // Format 3 had one stream per group and stream name.
        let database = try SQLiteDatabase(path: path, create: false)
        try database.execute("UPDATE streams SET log_stream = 's' || id")
        database.close()
        try OlderStreamsTable.rebuild(path, version: 3, columns: OlderStreamsTable.format3)
        let live = try Spool(configuration: .init(path: livePath))
        defer { live.close() }
        XCTAssertEqual(try SpoolSalvage.run(damaged: path, into: livePath, owner: { _ in europe }).copied, 2)
        XCTAssertEqual(try streamOutputs(live), ["europe s1", "europe s2"], "a format 3 spool's streams, by the caller's rule")
    }

    func testRecordsWhoseStreamRowIsLostAreReportedNotCopied() throws {
        _ = try makeSpool()
        let database = try SQLiteDatabase(path: path, create: false)
        let streamsPage = try database.integer("SELECT rootpage FROM sqlite_master WHERE name = 'streams'")
        database.close()
        let file = try FileHandle(forWritingTo: URL(fileURLWithPath: path))
        try file.seek(toOffset: UInt64((streamsPage - 1) * 4096))
        file.write(Data(repeating: 0xa5, count: 4096))
        try file.close()

        let livePath = directory.appendingPathComponent("live.sqlite").path
        let live = try Spool(configuration: .init(path: livePath))
        defer { live.close() }
        let report = try SpoolSalvage.run(damaged: path, into: livePath)
        XCTAssertEqual(report.streamsRead, 0)
        XCTAssertEqual(report.unreadableStreams.description, "1-2")
        XCTAssertEqual(report.recordsRead, count, "the records themselves are all readable")
        XCTAssertEqual(report.unknownStream.count, Int64(count), "without its stream a record has no destination")
        XCTAssertEqual(report.copied, 0)
        XCTAssertFalse(report.isComplete)
        XCTAssertEqual(try live.recordCount(), 0)
    }

    func testWhenTheTablesEndIsLostTooRecordsAreReadUpToTheDamage() throws {
        let original = try makeSpool()
        let database = try SQLiteDatabase(path: path, create: false)
        let sequencePage = try database.integer("SELECT rootpage FROM sqlite_master WHERE name = 'sqlite_sequence'")
        database.close()
        let file = try FileHandle(forWritingTo: URL(fileURLWithPath: path))
        try file.seek(toOffset: UInt64((sequencePage - 1) * 4096))
        file.write(Data(repeating: 0xa5, count: 4096))
        // The newest records' pages go with the file's end, so max(id) cannot be read either.
        try file.truncate(atOffset: try file.seekToEnd() - 3 * 4096)
        try file.close()

        var read: [Int64: DamagedRecord] = [:]
        let unreadable = try DamagedSpoolReader(path: path, owner: { _ in .first }).records { read[$0.id] = $0 }
        let from = try XCTUnwrap(unreadable.from, "the table's end is unknown")
        XCTAssertGreaterThan(read.count, count / 2, "the damage is near the end")
        XCTAssertEqual(Set(read.keys), Set(1..<from), "every record before the damage is read, none after")
        XCTAssertTrue(read.allSatisfy { original[$0.key]?.message == $0.value.message })
    }

    func testAFileThatIsNoSpoolIsRefused() throws {
        try Data("not a database".utf8).write(to: URL(fileURLWithPath: path))
        let livePath = directory.appendingPathComponent("live.sqlite").path
        try Spool(configuration: .init(path: livePath)).close()
        XCTAssertThrowsError(try SpoolSalvage.run(damaged: path, into: livePath)) { error in
            guard case SalvageError.notASpool = error else { return XCTFail("\(error)") }
        }
        XCTAssertThrowsError(try SpoolSalvage.run(damaged: livePath, into: livePath)) { error in
            guard case SalvageError.sameFile = error else { return XCTFail("\(error)") }
        }
    }
}
