import CZstd
import XCTest
@testable import Ingest
import Records

/// What forwarders newer than Docker's driver send: Fluent Bit 2.x+ entries
/// `[[time, metadata], record]`, float times, and `compressed: "zstd"`
/// (Fluentd 1.19, Fluent Bit 4.1+).
final class ModernForwardersTests: XCTestCase {
    private let limits = ForwardFrame.Limits(maxInflatedBytes: 1 << 20, decoder: MessagePackDecoder(maxLength: 1 << 20))
    private let record: MessagePackValue = .map([MessagePackPair(key: .string("log"), value: .string("hi"))])
    private let metadata: MessagePackValue = .map([MessagePackPair(key: .string("otel"), value: .map([]))])

    private func frame(_ value: MessagePackValue, limits: ForwardFrame.Limits? = nil) throws -> ForwardFrame {
        try ForwardFrame(parsing: MessagePackEncoder.encoded(value), limits: limits ?? self.limits)
    }

    /// EventTime(seconds, nanoseconds) as msgpack ext 0.
    private func eventTime(_ seconds: UInt32, _ nanoseconds: UInt32) -> MessagePackValue {
        .ext(type: 0, data: withUnsafeBytes(of: seconds.bigEndian, Array.init) + withUnsafeBytes(of: nanoseconds.bigEndian, Array.init))
    }

    private func zstd(_ bytes: [UInt8], level: Int32 = 3) -> [UInt8] {
        var out = [UInt8](repeating: 0, count: ZSTD_compressBound(bytes.count))
        let written = out.withUnsafeMutableBytes { o in bytes.withUnsafeBytes { i in ZSTD_compress(o.baseAddress, o.count, i.baseAddress, i.count, level) } }
        XCTAssertEqual(ZSTD_isError(written), 0)
        return Array(out.prefix(written))
    }

    private func option(_ compressed: String) -> MessagePackValue {
        .map([MessagePackPair(key: .string("compressed"), value: .string(compressed))])
    }

    private func fluentBitEntries() -> [MessagePackValue] {
        [.array([.array([eventTime(1_700_000_000, 5_000_000), metadata]), record]),
         .array([.array([eventTime(1_700_000_001, 999_999_999), .map([])]), record])]
    }

    private let expectedTimes = [EventTime(seconds: 1_700_000_000, nanoseconds: 5_000_000), EventTime(seconds: 1_700_000_001, nanoseconds: 999_999_999)]

    func testFluentBitEntriesKeepTheirTimeInForwardPackedAndCompressedFrames() throws {
        let forward = try frame(.array([.string("app"), .array(fluentBitEntries())]))
        XCTAssertEqual(forward.entries.map(\.time), expectedTimes)
        XCTAssertEqual(forward.entries.map { $0.record["log"] }, [.string("hi"), .string("hi")])

        var packed = MessagePackEncoder()
        for entry in fluentBitEntries() { packed.encode(entry) }
        XCTAssertEqual(try frame(.array([.string("app"), .binary(packed.bytes)])).entries.map(\.time), expectedTimes)
        XCTAssertEqual(try frame(.array([.string("app"), .binary(zstd(packed.bytes)), option("zstd")])).entries.map(\.time), expectedTimes)
    }

    func testMessageModeWithATimeMetadataPairAsFluentBitSendsItForPerRecordTags() throws {
        let chunk = MessagePackValue.map([MessagePackPair(key: .string("chunk"), value: .string("c1"))])
        let f = try frame(.array([.string("app"), .array([eventTime(1_700_000_000, 5_000_000), metadata]), record, chunk]))
        XCTAssertEqual(f.entries.map(\.time), [expectedTimes[0]])
        XCTAssertEqual(f.chunk, .string("c1"))
        let unacked = try frame(.array([.string("app"), .array([eventTime(1_700_000_000, 5_000_000), .map([])]), record]))
        XCTAssertEqual(unacked.entries.count, 1, "three elements: Message mode, not Forward mode with an option")
    }

    func testAFloatTimeKeepsItsFraction() throws {
        let f = try frame(.array([.string("app"), .double(1_700_000_000.25), record]))
        XCTAssertEqual(f.entries[0].time, EventTime(seconds: 1_700_000_000, nanoseconds: 250_000_000))
    }

    func testMalformedTimeMetadataPairsAreRefused() {
        let bad: [(MessagePackValue, String)] = [
            (.array([eventTime(1, 0)]), "a [time, metadata] pair has 2 elements, not 1"),
            (.array([eventTime(1, 0), .string("meta")]), "the metadata of a [time, metadata] pair must be a map"),
            (.array([.array([eventTime(1, 0), .map([])]), .map([])]), "expected an integer, float or EventTime"),
        ]
        for (time, reason) in bad {
            XCTAssertThrowsError(try frame(.array([.string("app"), .array([.array([time, record])])]))) { error in
                XCTAssertEqual(error as? ForwardFrameError, .invalidTime(reason))
            }
        }
    }

    func testZstdFramesBackToBackAreAllRead() throws {
        var first = MessagePackEncoder()
        first.encode(.array([.int(1), record]))
        var second = MessagePackEncoder()
        second.encode(.array([.int(2), record]))
        second.encode(.array([.int(3), record]))
        let f = try frame(.array([.string("app"), .binary(zstd(first.bytes) + zstd(second.bytes)), option("zstd")]))
        XCTAssertEqual(f.entries.map(\.time.seconds), [1, 2, 3])
    }

    func testZstdBombsTruncationAndGarbageAreRefused() throws {
        // 10 MB of one entry repeated compresses to a few hundred bytes.
        var entries = MessagePackEncoder()
        for _ in 0..<100_000 { entries.encode(.array([.int(1), record])) }
        let bomb = zstd(entries.bytes, level: 19)
        XCTAssertLessThan(bomb.count, 10_000)
        let small = ForwardFrame.Limits(maxInflatedBytes: 100_000, decoder: MessagePackDecoder())
        XCTAssertThrowsError(try frame(.array([.string("app"), .binary(bomb), option("zstd")]), limits: small)) { error in
            XCTAssertEqual(error as? ForwardFrameError, .compressedPayload(.inflatedSizeOverLimit(.zstd, limit: 100_000)))
        }
        var one = MessagePackEncoder()
        one.encode(.array([.int(1), record]))
        let whole = zstd(one.bytes)
        XCTAssertThrowsError(try frame(.array([.string("app"), .binary(Array(whole.dropLast(3))), option("zstd")]))) { error in
            XCTAssertEqual(error as? ForwardFrameError, .compressedPayload(.truncated(.zstd)))
        }
        XCTAssertThrowsError(try frame(.array([.string("app"), .binary([0xde, 0xad, 0xbe, 0xef, 0, 0, 0, 0]), option("zstd")]))) { error in
            guard case ForwardFrameError.compressedPayload(.corrupt(.zstd, _)) = error else { return XCTFail("\(error)") }
        }
        XCTAssertThrowsError(try frame(.array([.string("app"), .binary(whole), option("lz4")]))) { error in
            XCTAssertEqual(error as? ForwardFrameError, .unsupportedCompression("lz4"))
        }
    }

    /// `content` as one raw block in a frame declaring an 8 MiB window.
    private func hungryWithSmallWindow(_ content: [UInt8]) -> [UInt8] {
        let blockHeader = 1 | UInt32(content.count) << 3
        let frame: [UInt8] = [0x28, 0xb5, 0x2f, 0xfd, 0x00, (23 - 10) << 3,
                              UInt8(blockHeader & 0xff), UInt8(blockHeader >> 8 & 0xff), UInt8(blockHeader >> 16 & 0xff)] + content
        return frame
    }

    func testAFrameAskingForAHugeDecoderWindowIsRefused() throws {
        // A valid frame whose header asks for a 64 MiB window (log 26), holding one raw block.
        var entries = MessagePackEncoder()
        entries.encode(.array([.int(1), record]))
        let size = UInt32(entries.bytes.count)
        let blockHeader = 1 | size << 3  // last block, raw, its size
        let hungry: [UInt8] = [0x28, 0xb5, 0x2f, 0xfd, 0x00, (26 - 10) << 3,
                               UInt8(blockHeader & 0xff), UInt8(blockHeader >> 8 & 0xff), UInt8(blockHeader >> 16 & 0xff)] + entries.bytes
        XCTAssertEqual(try hungryWithSmallWindow(entries.bytes).withUnsafeBufferPointer { try ZstdInflater.inflate($0, limit: 1 << 20) }, entries.bytes, "the same frame with an 8 MiB window reads")
        XCTAssertThrowsError(try frame(.array([.string("app"), .binary(hungry), option("zstd")]))) { error in
            guard case ForwardFrameError.compressedPayload(.corrupt(.zstd, _)) = error else { return XCTFail("\(error)") }
        }
    }

    func testEntriesPerFrameAndRecordBytesAreBounded() throws {
        let bounded = ForwardFrame.Limits(maxInflatedBytes: 1 << 20, maxEntries: 10, maxRecordBytes: 100, decoder: MessagePackDecoder(maxLength: 1 << 20))
        let entries = (0..<11).map { _ in MessagePackValue.array([.int(1), record]) }
        XCTAssertThrowsError(try frame(.array([.string("app"), .array(entries)]), limits: bounded)) { error in
            XCTAssertEqual(error as? ForwardFrameError, .tooManyEntries(limit: 10))
        }
        var packed = MessagePackEncoder()
        for entry in entries { packed.encode(entry) }
        XCTAssertThrowsError(try frame(.array([.string("app"), .binary(zstd(packed.bytes)), option("zstd")]), limits: bounded)) { error in
            XCTAssertEqual(error as? ForwardFrameError, .tooManyEntries(limit: 10))
        }
        XCTAssertEqual(try frame(.array([.string("app"), .array(Array(entries.prefix(10)))]), limits: bounded).entries.count, 10, "at the limit is fine")
        let large: MessagePackValue = .map([MessagePackPair(key: .string("log"), value: .string(Array(repeating: 0x61, count: 200)))])
        XCTAssertThrowsError(try frame(.array([.string("app"), .int(1), large]), limits: bounded)) { error in
            XCTAssertEqual(error as? ForwardFrameError, .recordTooLarge(entry: 0, limit: 100))
        }
    }

    func testAReceiveBufferGoesBackToItsFirstSize() {
        let buffer = ReceiveBuffer(capacity: 1024)
        buffer.resize(to: 1 << 20, keeping: 0)
        XCTAssertEqual(buffer.capacity, 1 << 20)
        buffer.resize(to: 1024, keeping: 0)
        XCTAssertEqual(buffer.capacity, 1024)
    }

    func testAReceiveBufferKeepsItsFirstBytesAsItGrowsAndShrinks() {
        let buffer = ReceiveBuffer(capacity: 8)
        let bytes: [UInt8] = [1, 2, 3, 4, 5, 6]
        bytes.withUnsafeBytes { buffer.room(from: 0, limit: 8).copyMemory(from: $0) }
        buffer.resize(to: 64, keeping: 6)
        XCTAssertEqual(Array(buffer.filled(6)), bytes)
        buffer.moveToStart(2..<6)
        buffer.resize(to: 4, keeping: 4)
        XCTAssertEqual(buffer.capacity, 4)
        XCTAssertEqual(Array(buffer.filled(4)), [3, 4, 5, 6])
    }
}
