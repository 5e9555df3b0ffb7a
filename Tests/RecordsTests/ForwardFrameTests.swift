import CZstd
import XCTest
@testable import Records

final class ForwardFrameTests: XCTestCase {
    private let limits = ForwardFrame.Limits(maxInflatedBytes: 1 << 20, decoder: MessagePackDecoder(maxLength: 1 << 20))

    private func frame(_ value: MessagePackValue) throws -> ForwardFrame {
        try ForwardFrame(parsing: MessagePackEncoder.encoded(value), limits: limits)
    }

    private let record: MessagePackValue = .map([MessagePackPair(key: .string("log"), value: .string("hi"))])

    func testMessageModeWithIntegerTimeAndChunk() throws {
        let chunk = MessagePackValue.string("c1")
        let f = try frame(.array([.string("app"), .int(1_700_000_000), record, .map([MessagePackPair(key: .string("chunk"), value: chunk)])]))
        XCTAssertEqual(f.tag, "app")
        XCTAssertEqual(f.entries.count, 1)
        XCTAssertEqual(f.entries[0].time, EventTime(seconds: 1_700_000_000))
        XCTAssertEqual(f.entries[0].record["log"], .string("hi"))
        XCTAssertEqual(f.chunk, chunk)
    }

    /// The previous frame's tag is taken only when the bytes are exactly its UTF-8: not for a tag
    /// of the same length, nor one it starts, nor bytes that are not UTF-8.
    func testAFrameTakesThePreviousTagOnlyWhenItsBytesAreThatTag() throws {
        func parse(_ tag: MessagePackValue, previous: String) throws -> ForwardFrame {
            try ForwardFrame(parsing: MessagePackEncoder.encoded(.array([tag, .int(1), record])), limits: limits, previousTag: previous)
        }
        XCTAssertEqual(try parse(.string("app-1"), previous: "app-1").tag, "app-1")
        XCTAssertEqual(try parse(.string("app-2"), previous: "app-1").tag, "app-2")
        XCTAssertEqual(try parse(.string("app-10"), previous: "app-1").tag, "app-10")
        XCTAssertEqual(try parse(.string("app"), previous: "app-1").tag, "app")
        XCTAssertEqual(Array(try parse(.string("é"), previous: "e\u{301}").tag.utf8), Array("é".utf8), "the same characters in other bytes are another tag")
        XCTAssertThrowsError(try ForwardFrame(parsing: [0x93, 0xa2, 0xc3, 0x28, 0x01, 0x80], limits: limits, previousTag: "ab")) { error in
            XCTAssertEqual(error as? ForwardFrameError, .tagNotAString)
        }
    }

    func testOptionsReadInPlaceStepOverKeysAndValuesTheyDoNotUse() throws {
        let option: MessagePackValue = .map([
            MessagePackPair(key: .int(1), value: .array([.int(1), .map([MessagePackPair(key: .string("chunk"), value: .string("not this one"))])])),
            MessagePackPair(key: .string("fluent_signal"), value: .int(0)),
            MessagePackPair(key: .binary(Array("chunk".utf8)), value: .string("nor a binary key")),
            MessagePackPair(key: .string("chunk"), value: .binary([0x01, 0x02])),
            MessagePackPair(key: .string("size"), value: .uint(1)),
            MessagePackPair(key: .string("compressed"), value: .string("text")),
        ])
        let f = try frame(.array([.string("app"), .int(1), record, option]))
        XCTAssertEqual(f.chunk, .binary([0x01, 0x02]))
        XCTAssertEqual(f.entries.count, 1)
        XCTAssertEqual(f.entries[0].record["log"], .string("hi"))
        let wrongSize = MessagePackValue.map([MessagePackPair(key: .string("size"), value: .int(2)), MessagePackPair(key: .string("chunk"), value: .string("c"))])
        XCTAssertThrowsError(try frame(.array([.string("app"), .int(1), record, wrongSize]))) { error in
            XCTAssertEqual(error as? ForwardFrameError, .sizeMismatch(declared: 2, actual: 1))
        }
    }

    func testEventTimeKeepsNanoseconds() throws {
        let data: [UInt8] = [0x65, 0x53, 0xf1, 0x00, 0x07, 0x5b, 0xcd, 0x15]
        let f = try frame(.array([.string("app"), .ext(type: 0, data: data), record]))
        XCTAssertEqual(f.entries[0].time, EventTime(seconds: 0x6553f100, nanoseconds: 123_456_789))
    }

    func testForwardModeAndSizeCheck() throws {
        let entries: MessagePackValue = .array([.array([.int(1), record]), .array([.int(2), record])])
        XCTAssertEqual(try frame(.array([.string("app"), entries])).entries.map(\.time.seconds), [1, 2])
        let wrongSize = MessagePackValue.map([MessagePackPair(key: .string("size"), value: .int(3))])
        XCTAssertThrowsError(try frame(.array([.string("app"), entries, wrongSize]))) { error in
            XCTAssertEqual(error as? ForwardFrameError, .sizeMismatch(declared: 3, actual: 2))
        }
    }

    func testPackedForward() throws {
        var packed = MessagePackEncoder()
        packed.encode(.array([.int(1), record]))
        packed.encode(.array([.int(2), record]))
        let f = try frame(.array([.string("app"), .binary(packed.bytes)]))
        XCTAssertEqual(f.entries.map(\.time.seconds), [1, 2])
    }

    func testCompressedPackedForwardWithTwoGzipMembers() throws {
        // gzip([1700000000, {"log":"a"}] [1700000001, {"log":"b"}]) + gzip([1700000002, {"log":"c"}])
        let gzip: [UInt8] = [0x1f, 0x8b, 0x08, 0x00, 0x00, 0x00, 0x00, 0x00, 0x02, 0x03, 0x9b, 0x74, 0x2e, 0x35, 0xf8, 0x23, 0x43, 0xe3, 0xe2, 0x9c, 0xfc, 0xf4, 0x85, 0x89, 0x93, 0x40, 0x1c, 0x46, 0x08, 0x27, 0x09, 0x00, 0x3b, 0x7e, 0xd7, 0x33, 0x1a, 0x00, 0x00, 0x00, 0x1f, 0x8b, 0x08, 0x00, 0x00, 0x00, 0x00, 0x00, 0x02, 0x03, 0x9b, 0x74, 0x2e, 0x35, 0xf8, 0x23, 0x53, 0xe3, 0xe2, 0x9c, 0xfc, 0xf4, 0x85, 0xc9, 0x00, 0x6f, 0x33, 0x89, 0xd2, 0x0d, 0x00, 0x00, 0x00]
        let option = MessagePackValue.map([MessagePackPair(key: .string("compressed"), value: .string("gzip"))])
        let f = try frame(.array([.string("app"), .binary(gzip), option]))
        XCTAssertEqual(f.entries.map(\.time.seconds), [1_700_000_000, 1_700_000_001, 1_700_000_002])
        XCTAssertEqual(f.entries.map { $0.record["log"] }, [.string("a"), .string("b"), .string("c")])
    }

    /// What a caller bounding memory is told: the inflated bytes, then each record with its field places and entry.
    func testClaimsCountInflatedBytesAndEachRecordBeforeTheyAreKept() throws {
        var packed = MessagePackEncoder()
        for n in 0..<3 { packed.encode(.array([.int(Int64(n)), record])) }
        let compressed = zstd(packed.bytes)
        let option = MessagePackValue.map([MessagePackPair(key: .string("compressed"), value: .string("zstd"))])
        var claims: [Int] = []
        let f = try ForwardFrame(parsing: MessagePackEncoder.encoded(.array([.string("app"), .binary(compressed), option])), limits: limits) { claims.append($0) }
        XCTAssertEqual(f.entries.count, 3)
        let perRecord = MessagePackEncoder.encoded(record).count + LogRecord.editReserve + MemoryLayout<LogRecord.Field>.stride
            + MemoryLayout<(time: EventTime, record: LogRecord)>.stride
        XCTAssertEqual(claims, [packed.bytes.count, perRecord, perRecord, perRecord])
    }

    func testAClaimThatThrowsEndsTheParse() {
        struct NoRoom: Error {}
        let entries: MessagePackValue = .array([.array([.int(1), record]), .array([.int(2), record])])
        var claims = 0
        XCTAssertThrowsError(try ForwardFrame(parsing: MessagePackEncoder.encoded(.array([.string("app"), entries])), limits: limits) { _ in
            claims += 1
            if claims == 2 { throw NoRoom() }
        }) { error in
            XCTAssertTrue(error is NoRoom, "\(error)")
        }
        XCTAssertEqual(claims, 2, "nothing more is decoded once a claim is refused")
    }

    private func zstd(_ bytes: [UInt8]) -> [UInt8] {
        var out = [UInt8](repeating: 0, count: ZSTD_compressBound(bytes.count))
        let written = out.withUnsafeMutableBytes { o in bytes.withUnsafeBytes { i in ZSTD_compress(o.baseAddress, o.count, i.baseAddress, i.count, 3) } }
        return Array(out.prefix(written))
    }

    func testGzipBombAndBadGzipAreRejected() throws {
        // 132 bytes of gzip that inflate to 100,000 zero bytes.
        var bomb: [UInt8] = [0x1f, 0x8b, 0x08, 0x00, 0x00, 0x00, 0x00, 0x00, 0x02, 0x03, 0xed, 0xc1, 0x31, 0x01, 0x00, 0x00, 0x00, 0xc2, 0xa0, 0xf5, 0x4f, 0x6d, 0x0d, 0x0f, 0xa0]
        bomb += [UInt8](repeating: 0, count: 96)
        bomb += [0x80, 0x57, 0x03, 0x7d, 0x95, 0x11, 0xd4, 0xa0, 0x86, 0x01, 0x00]
        let option = MessagePackValue.map([MessagePackPair(key: .string("compressed"), value: .string("gzip"))])
        let small = ForwardFrame.Limits(maxInflatedBytes: 10_000, decoder: MessagePackDecoder())
        XCTAssertThrowsError(try ForwardFrame(parsing: MessagePackEncoder.encoded(.array([.string("app"), .binary(bomb), option])), limits: small)) { error in
            XCTAssertEqual(error as? ForwardFrameError, .compressedPayload(.inflatedSizeOverLimit(.gzip, limit: 10_000)))
        }
        XCTAssertThrowsError(try frame(.array([.string("app"), .binary([0x1f, 0x8b, 0x08, 0x00, 0xde, 0xad]), option]))) { error in
            guard case ForwardFrameError.compressedPayload = error else { return XCTFail("\(error)") }
        }
    }

    func testWrongShapesAreRejectedWithTheirReason() {
        let cases: [(MessagePackValue, ForwardFrameError)] = [
            (.map([]), .notAnArray),
            (.array([.string("app")]), .wrongElementCount(1)),
            (.array([.int(1), .int(1), record]), .tagNotAString),
            (.array([.string("app"), .nil, record]), .invalidTime("expected an integer, float or EventTime")),
            (.array([.string("app"), .int(1), .string("not a map")]), .recordNotAMap(entry: 0)),
            (.array([.string("app"), .int(1), .map([MessagePackPair(key: .int(1), value: .nil)])]), .recordKeyNotAString(entry: 0)),
            (.array([.string("app"), .array([.int(1)])]), .entryNotATimeRecordPair(entry: 0)),
            (.array([.string("app"), .int(1), record, .int(5)]), .optionNotAMap),
            (.array([.string([0xff, 0xfe]), .int(1), record]), .tagNotAString),
        ]
        for (value, expected) in cases {
            XCTAssertThrowsError(try frame(value)) { error in
                XCTAssertEqual(error as? ForwardFrameError, expected)
            }
        }
    }
}
