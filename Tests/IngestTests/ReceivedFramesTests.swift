import XCTest
@testable import Ingest
@testable import Records

final class ReceivedFramesTests: XCTestCase {
    /// A sink that knows one chunk as stored and takes nothing.
    private struct KnownChunkSink: IngestSink {
        let stored: [UInt8]
        func accept(_ batches: [IngestBatch], whenStored: (@Sendable (Error?) -> Void)?) throws { whenStored?(nil) }
        func hasStored(chunk: [UInt8]) -> Bool { chunk == stored }
    }

    private func piece(chunk: String) -> ForwardFrame {
        let record = LogRecord(["log": .string("tail of a long line"), "partial_message": .string("true"), "partial_id": .string("p"),
                                "partial_ordinal": .string("3"), "partial_last": .string("true")])
        return ForwardFrame(tag: "app", entries: [(EventTime(seconds: 1), record)], chunk: .string(chunk))
    }

    func testAResentFrameIsAckedAgainWithoutBeingJoinedOrStored() {
        // After a crash between committing a whole line and acking its last piece, that piece comes again:
        // it must not start a new (incomplete) line.
        let assembler = PartialMessageAssembler()
        let sink = KnownChunkSink(stored: Array("seen".utf8))
        var received = ReceivedFrames(pipeline: FilterPipeline(filters: []), tagPrefix: "", assembler: assembler, sink: sink)
        var seen = piece(chunk: "seen")
        received.add(&seen)
        XCTAssertEqual(received.chunks, [.string("seen")], "the resend is acked")
        XCTAssertEqual(received.batches.first?.records.count, 0)
        XCTAssertEqual(received.batches.first?.staged.count, 0)
        XCTAssertEqual(assembler.pendingLines, 0)

        var new = piece(chunk: "new")
        received.add(&new)
        XCTAssertEqual(received.batches.last?.staged.count, 1, "a new piece is staged as usual")
        XCTAssertEqual(assembler.pendingLines, 1)
    }

    /// A received record is the only reference to its bytes: the tutorial's
    /// renames and rewrite_tag edit them where they were decoded. A second
    /// reference anywhere on the way made the first rename copy every record.
    func testTheFiltersEditARecordWhereItWasDecodedWithoutCopyingIt() throws {
        var encoder = MessagePackEncoder()
        encoder.encodeArrayHeader(count: 4)
        encoder.encode(.string(Array("app".utf8)))
        encoder.encode(.uint(1_700_000_000))
        encoder.encode(.map([
            MessagePackPair(key: .string("log"), value: .string("a line")),
            MessagePackPair(key: .string("com.amazonaws.ecs.cluster"), value: .string("c")),
            MessagePackPair(key: .string("com.amazonaws.ecs.task-arn"), value: .string("arn:aws:ecs:us-east-1:1:task/c/0123abcd")),
        ]))
        encoder.encode(.map([MessagePackPair(key: .string("chunk"), value: .string("c1"))]))
        let bytes = encoder.bytes
        var frame = try ForwardFrame(parsing: bytes, limits: .init(maxInflatedBytes: 1 << 20, decoder: MessagePackDecoder()))
        let decodedAt = try XCTUnwrap(frame.entries.first?.record.storageAddress)

        let modify = ModifyFilter(match: TagPattern("ecs.*"), rules: [.rename(from: "com.amazonaws.ecs.cluster", to: "ecs_cluster"),
                                                                      .rename(from: "com.amazonaws.ecs.task-arn", to: "ecs_task_arn")])
        let rule = try RewriteTagFilter.Rule(parsing: "$ecs_task_arn ^([a-z-:0-9]+)/([a-zA-Z0-9-_]+)/([a-z0-9]+)$ out.$3 false")
        let pipeline = FilterPipeline(filters: [modify, RewriteTagFilter(match: TagPattern("ecs.*"), rules: [rule])])
        var received = ReceivedFrames(pipeline: pipeline, tagPrefix: "ecs.", assembler: PartialMessageAssembler(),
                                      sink: KnownChunkSink(stored: []))
        received.add(&frame)

        let out = try XCTUnwrap(received.batches.first?.records.first)
        XCTAssertEqual(out.tag, "out.0123abcd")
        XCTAssertNotNil(out.record.index(of: Array("ecs_cluster".utf8)), "renamed")
        XCTAssertEqual(out.record.storageAddress, decodedAt, "the renames were made in the decoded bytes, not in a copy of them")
    }

    /// The prefixed tag of the last frame is reused only for the same bytes: "é" as one code point
    /// and as "e" with a combining accent are equal strings in Swift but two tags.
    func testAFrameWhoseTagIsTheSameCharactersInOtherBytesKeepsItsOwnBytes() {
        var received = ReceivedFrames(pipeline: FilterPipeline(filters: []), tagPrefix: "ecs.", assembler: PartialMessageAssembler(),
                                      sink: KnownChunkSink(stored: []))
        for tag in ["e\u{301}", "é", "é"] {
            var frame = ForwardFrame(tag: tag, entries: [(EventTime(seconds: 1), LogRecord(["log": .string("x")]))], chunk: nil)
            received.add(&frame)
        }
        XCTAssertEqual(received.batches.map { Array(($0.records.first?.tag ?? "").utf8) },
                       [Array("ecs.e\u{301}".utf8), Array("ecs.é".utf8), Array("ecs.é".utf8)])
    }

    /// The lists keep their memory between reads only while it is small: a read of a thousand tiny frames leaves none behind.
    func testClearingKeepsTheListsMemoryOnlyForAFewFrames() {
        var received = ReceivedFrames(pipeline: FilterPipeline(filters: []), tagPrefix: "", assembler: PartialMessageAssembler(),
                                      sink: KnownChunkSink(stored: []))
        func read(_ frames: Int) {
            for n in 0..<frames {
                var frame = ForwardFrame(tag: "app", entries: [(EventTime(seconds: 1), LogRecord(["log": .string("x")]))], chunk: .string("c\(n)"))
                received.add(&frame)
            }
            received.clearFrames()
        }
        read(1)
        XCTAssertGreaterThanOrEqual(received.batches.capacity, 1, "one frame's lists are kept for the next read")
        XCTAssertGreaterThanOrEqual(received.chunks.capacity, 1)
        read(1000)
        XCTAssertLessThanOrEqual(received.batches.capacity, ReceivedFrames.keptFrames)
        XCTAssertLessThanOrEqual(received.chunks.capacity, ReceivedFrames.keptFrames)
    }

    func testLongChunkIdsAreRememberedByADigestOfBoundedSize() {
        let docker = "hDZ3cTbYrXVjsDgCuWfbiA=="
        XCTAssertEqual(ReceivedFrames.chunkKey(.string(docker)), Array(docker.utf8), "the usual ids are kept as they are")
        let long = String(repeating: "c", count: 1 << 20)
        let key = ReceivedFrames.chunkKey(.string(long))
        XCTAssertEqual(key.count, 65)
        XCTAssertEqual(key, ReceivedFrames.chunkKey(.string(long)), "the same id gives the same key")
        XCTAssertNotEqual(key, ReceivedFrames.chunkKey(.string(long + "d")))

        // A frame resent with that id is still recognised.
        var received = ReceivedFrames(pipeline: FilterPipeline(filters: []), tagPrefix: "", assembler: PartialMessageAssembler(), sink: KnownChunkSink(stored: key))
        var resent = piece(chunk: long)
        received.add(&resent)
        XCTAssertEqual(received.chunks, [.string(long)], "acked with the id the client sent")
        XCTAssertEqual(received.batches.first?.staged.count, 0, "and not taken again")
    }
}
