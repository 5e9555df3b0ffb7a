import Foundation
import XCTest
@testable import Spool

/// Streams belong to outputs (format 4): two outputs writing one group and
/// stream stay two streams, and a spool of format 3 gives each of its streams
/// the output that sent it before, once, keeping ids, cursors and counters.
final class StreamOutputsTests: SpoolFileTestCase {
    private let europe = SpoolOutput(index: 1, name: "europe")

    private func record(_ n: Int, output: SpoolOutput, group: String = "g", stream: String = "s") -> SpoolRecord {
        SpoolRecord(output: output, logGroup: group, logStream: stream, tag: "t", timeNanoseconds: Int64(n), message: Array(#"{"log":"line \#(n)"}"#.utf8))
    }

    private func store(_ spool: Spool, _ records: [SpoolRecord]) throws {
        try spool.append([SpoolAppend(chunk: nil, records: SpoolRecords(records))], durable: true)
    }

    func testTwoOutputsWritingTheSameGroupAndStreamStayApart() throws {
        let spool = try Spool(configuration: .init(path: path))
        defer { spool.close() }
        // Interleaved in one append, as a record both outputs match is routed.
        try store(spool, (0..<10).flatMap { [record($0, output: .first), record(100 + $0, output: europe)] } + [record(200, output: europe)])
        let streams = try spool.streamsWithPendingRecords()
        XCTAssertEqual(streams.map(\.output), [.first, europe])
        XCTAssertEqual(Set(streams.map { "\($0.logGroup)/\($0.logStream)" }), ["g/s"])
        let first = try spool.undelivered(stream: streams[0].id, limit: 100)
        let second = try spool.undelivered(stream: streams[1].id, limit: 100)
        XCTAssertEqual(first.map(\.timeNanoseconds), Array(0..<10))
        XCTAssertEqual(second.map(\.timeNanoseconds), Array(100..<110) + [200])

        try spool.markDelivered(stream: streams[0].id, through: try XCTUnwrap(first.last).id)
        XCTAssertEqual(try spool.streamsWithPendingRecords().map(\.output), [europe], "one output's delivery leaves the other's records pending")
        XCTAssertEqual(try spool.undelivered(stream: streams[1].id, limit: 100).count, 11)
        let status = try SpoolInspector(path: path).streamStatus()
        XCTAssertEqual(status.map(\.output), ["cloudwatch_logs.0", "europe"])
        XCTAssertEqual(status.map(\.undeliveredRecords), [0, 11])
        XCTAssertEqual(try SpoolInspector(path: path).count(RecordSelection(source: .undelivered, output: "eu*")), 11)
        try assertCountersExact(path, "two outputs, one delivered")
    }

    func testAnOutputTheConfigRenamedKeepsItsStreamsUnderTheNewName() throws {
        do {
            let spool = try Spool(configuration: .init(path: path))
            try store(spool, [record(1, output: europe)])
            spool.close()
        }
        let spool = try Spool(configuration: .init(path: path))
        defer { spool.close() }
        let renamed = SpoolOutput(index: 1, name: "eu-west-1")
        try store(spool, [record(2, output: renamed)])
        let streams = try spool.streamsWithPendingRecords()
        XCTAssertEqual(streams.map(\.output), [renamed], "the same output (by its place) and stream: one row, renamed")
        XCTAssertEqual(try spool.undelivered(stream: streams[0].id, limit: 10).map(\.timeNanoseconds), [1, 2])
    }

    func testAFormat3SpoolGivesEachStreamTheOutputThatSendsIt() throws {
        let spool = try Spool(configuration: .init(path: path))
        try store(spool, (0..<30).map { record($0, output: .first, group: $0 % 3 == 0 ? "eu-group" : "us-group", stream: "s\($0 % 5)") })
        let before = try spool.streamsWithPendingRecords()
        let firstOfUS = try XCTUnwrap(before.first { $0.logGroup == "us-group" })
        let read = try spool.undelivered(stream: firstOfUS.id, limit: 3)
        try spool.markDelivered(stream: firstOfUS.id, through: read[2].id, deadLetters: [DeadLetter(recordID: read[1].id, reason: "tooOld")])
        let leftOfUS = try spool.undelivered(stream: firstOfUS.id, limit: 100).map(\.id)
        spool.close()
        let expected = try counted(path).scanned
        try OlderStreamsTable.rebuild(path, version: 3, columns: OlderStreamsTable.format3, streamSequence: 500)

        // An older shipper's view of it: no outputs yet.
        XCTAssertEqual(Set(try SpoolInspector(path: path).streamStatus().map(\.output)), [nil])
        XCTAssertEqual(try SpoolInspector(path: path).count(RecordSelection(source: .undelivered)), 30 - read.count)

        let europe = self.europe
        let upgraded = try Spool(configuration: .init(path: path, legacyStreamOwner: { $0 == "eu-group" ? europe : .first }))
        defer { upgraded.close() }
        XCTAssertEqual(try SQLiteDatabase(path: path, create: false).integer("PRAGMA user_version"), SpoolSchema.version)
        let after = try upgraded.streamsWithPendingRecords()
        XCTAssertEqual(after.map(\.id), before.map(\.id), "every stream keeps its id, so its records and cursor")
        for stream in after {
            XCTAssertEqual(stream.output, stream.logGroup == "eu-group" ? europe : .first, "\(stream.logGroup)/\(stream.logStream)")
        }
        XCTAssertEqual(try upgraded.undelivered(stream: firstOfUS.id, limit: 100).map(\.id), leftOfUS, "its cursor stays where it was")
        let counters = try counted(path).counters
        XCTAssertEqual(counters.filter { !$0.key.hasPrefix("europe ") }.merging(
            counters.filter { $0.key.hasPrefix("europe ") }.map { (String($0.key.dropFirst("europe ".count)), $0.value) }) { a, _ in a }, expected)
        try assertCountersExact(path, "after the upgrade")

        // A stream made now gets an id past the old file's sequence (pruned streams' ids are not given again).
        try store(upgraded, [record(99, output: europe, group: "new", stream: "new")])
        XCTAssertGreaterThan(try XCTUnwrap(try upgraded.streamsWithPendingRecords().first { $0.logGroup == "new" }).id, 500)
        XCTAssertEqual(try upgraded.streamsWithPendingRecords().filter { $0.logStream == "s0" }.count, 2, "s0 of each group")
    }
}
