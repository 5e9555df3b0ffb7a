import XCTest
@testable import Ingest
import Records

final class PartialMessageAssemblerTests: XCTestCase {
    private func piece(_ bytes: [UInt8], ordinal: Int, last: Bool, id: String = "p1") -> TaggedRecord {
        TaggedRecord(tag: "app", time: EventTime(seconds: 100, nanoseconds: 7), record: LogRecord([
            "log": .string(bytes), "partial_message": .string("true"), "partial_id": .string(id),
            "partial_ordinal": .string(String(ordinal)), "partial_last": .string(last ? "true" : "false"), "source": .string("stdout"),
        ]))
    }

    func testPiecesJoinInOrdinalOrderEvenWhenTheyArriveOutOfOrder() throws {
        let text = Array("héllo wörld".utf8)
        let cut = 2 // inside "é"
        let assembler = PartialMessageAssembler()
        guard case .held = assembler.add(piece(Array(text[cut...]), ordinal: 2, last: true)) else { return XCTFail("piece 2 alone is held") }
        guard case .completed(let whole, let key, _) = assembler.add(piece(Array(text[..<cut]), ordinal: 1, last: false)) else {
            return XCTFail("piece 1 completes the line")
        }
        XCTAssertEqual(key, Array("p1".utf8))
        XCTAssertEqual(whole.record["log"], .string(text))
        XCTAssertEqual(whole.record.fields.compactMap { $0.key.textValue }, ["log", "source"])
        XCTAssertEqual(whole.time, EventTime(seconds: 100, nanoseconds: 7))
        XCTAssertEqual(assembler.pendingLines, 0)
    }

    func testOrdinaryRecordsPassAndARepeatedPieceCountsOnce() {
        let assembler = PartialMessageAssembler()
        guard case .whole = assembler.add(TaggedRecord(tag: "a", time: EventTime(seconds: 1), record: LogRecord(["log": .string("x")]))) else { return XCTFail() }
        _ = assembler.add(piece([0x61], ordinal: 1, last: false))
        _ = assembler.add(piece([0x61], ordinal: 1, last: false))
        guard case .completed(let whole, _, _) = assembler.add(piece([0x62], ordinal: 2, last: true)) else { return XCTFail() }
        XCTAssertEqual(whole.record["log"], .string("ab"))
    }

    func testIncompleteLinesAreFlushedMarkedAfterTheTimeoutOrOverTheMemoryBound() {
        let timed = PartialMessageAssembler(maxBytes: 1 << 20, timeout: 30)
        _ = timed.add(piece([0x61], ordinal: 1, last: false))
        XCTAssertTrue(timed.due(now: Date().addingTimeInterval(10)).isEmpty)
        let flushed = timed.due(now: Date().addingTimeInterval(31))
        XCTAssertEqual(flushed.count, 1)
        XCTAssertEqual(flushed.first?.record.record["partial_incomplete"], .string("true"))
        XCTAssertEqual(flushed.first?.record.record["log"], .string("a"))

        let onePiece = piece([UInt8](repeating: 0x61, count: 8), ordinal: 1, last: false, id: "old").record.byteCount + 10
        let bounded = PartialMessageAssembler(maxBytes: onePiece * 3 / 2, timeout: 30)
        _ = bounded.add(piece([UInt8](repeating: 0x61, count: 8), ordinal: 1, last: false, id: "old"))
        _ = bounded.add(piece([UInt8](repeating: 0x62, count: 8), ordinal: 1, last: false, id: "new"))
        XCTAssertEqual(bounded.due().map(\.key), [Array("old".utf8)], "the oldest line goes first until under the bound")
    }

    func testPiecesCountInFullAgainstTheMemoryBound() {
        // A hostile client pads pieces with other fields: a 1-byte log line holding 100 KiB.
        let assembler = PartialMessageAssembler(maxBytes: 150 << 10, timeout: 30)
        var padded = piece([0x61], ordinal: 1, last: false, id: "padded")
        padded.record["padding"] = .binary([UInt8](repeating: 0x70, count: 100 << 10))
        _ = assembler.add(padded)
        XCTAssertTrue(assembler.due().isEmpty, "one padded piece is within the bound")
        var second = piece([0x62], ordinal: 1, last: false, id: "second")
        second.record["padding"] = .binary([UInt8](repeating: 0x70, count: 100 << 10))
        _ = assembler.add(second)
        XCTAssertEqual(assembler.due().map(\.key), [Array("padded".utf8)], "two are over it: the oldest line is flushed")
        // A repeated piece replaces the one held, and its size with it.
        _ = assembler.add(piece([0x63], ordinal: 1, last: false, id: "second"))
        XCTAssertTrue(assembler.due().isEmpty)
    }

    func testStagedPiecesRestoreAfterARestart() {
        let before = PartialMessageAssembler()
        guard case .held(let staged) = before.add(piece([0x61], ordinal: 1, last: false)) else { return XCTFail() }
        let after = PartialMessageAssembler()
        after.restore([staged])
        guard case .completed(let whole, _, _) = after.add(piece([0x62], ordinal: 2, last: true)) else { return XCTFail() }
        XCTAssertEqual(whole.record["log"], .string("ab"))
        XCTAssertEqual(whole.tag, "app")
    }
}
