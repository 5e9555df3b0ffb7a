import XCTest
@testable import Records

final class MessagePackDecoderTests: XCTestCase {
    private let decoder = MessagePackDecoder(maxLength: 1 << 20, maxDepth: 8)

    private func roundTrip(_ value: MessagePackValue, file: StaticString = #filePath, line: UInt = #line) throws {
        var encoder = MessagePackEncoder()
        encoder.encode(value)
        XCTAssertEqual(try decoder.decode(encoder.bytes), value, file: file, line: line)
        XCTAssertEqual(try scan(encoder.bytes), encoder.bytes.count, "the scanner agrees with decode", file: file, line: line)
    }

    func testEveryTypeRoundTrips() throws {
        let values: [MessagePackValue] = [
            .nil, .bool(true), .bool(false), .int(0), .int(127), .int(128), .int(65_536), .int(-1), .int(-33), .int(.min), .int(.max),
            .uint(.max), .double(1.5), .string(""), .string("héllo"), .string(String(repeating: "x", count: 70_000)),
            .binary([1, 2, 3]), .array([.int(1), .string("a")]), .map([MessagePackPair(key: .string("k"), value: .nil)]),
            .ext(type: 0, data: [0, 0, 0, 1, 0, 0, 0, 2]), .ext(type: 5, data: [1, 2, 3]),
            .array((0..<20).map { .int(Int64($0)) }),
        ]
        for value in values { try roundTrip(value) }
    }

    func testDecodesSignedAndUnsignedWidthsFromWireBytes() throws {
        XCTAssertEqual(try decoder.decode([0xd0, 0x80]), .int(-128))
        XCTAssertEqual(try decoder.decode([0xd1, 0xff, 0xfe]), .int(-2))
        XCTAssertEqual(try decoder.decode([0xcc, 0xff]), .int(255))
        XCTAssertEqual(try decoder.decode([0xca, 0x3f, 0xc0, 0x00, 0x00]), .double(1.5))
    }

    /// Where the scanner says the value starting at the first byte ends; nil while it needs more bytes.
    private func scan(_ bytes: [UInt8]) throws -> Int? {
        var scanner = MessagePackScanner(limitsOf: decoder)
        return try bytes.withUnsafeBufferPointer { try scanner.scan($0) }
    }

    func testEveryTruncationOfAFrameIsReportedAsTruncated() throws {
        var encoder = MessagePackEncoder()
        encoder.encode(.array([.string("tag"), .int(1_700_000_000), .map([MessagePackPair(key: .string("log"), value: .string("hello world"))])]))
        let bytes = encoder.bytes
        for cut in 0..<bytes.count {
            let prefix = Array(bytes[0..<cut])
            XCTAssertThrowsError(try decoder.decode(prefix)) { error in
                guard case MessagePackError.truncated = error else { return XCTFail("cut at \(cut): \(error)") }
            }
            XCTAssertNil(try scan(prefix), "cut at \(cut): the scanner waits for more")
        }
    }

    func testNeverUsedTypeByteIsRejected() {
        XCTAssertThrowsError(try decoder.decode([0xc1])) { error in
            XCTAssertEqual(error as? MessagePackError, .invalidByte(0xc1, offset: 0))
        }
    }

    func testHugeDeclaredLengthsFailBeforeAllocating() {
        // str32 and array32 announcing 4 GiB with a few bytes present.
        XCTAssertThrowsError(try decoder.decode([0xdb, 0xff, 0xff, 0xff, 0xff, 0x41])) { error in
            guard case MessagePackError.lengthOverLimit(let declared, _, _) = error else { return XCTFail("\(error)") }
            XCTAssertEqual(declared, 0xffff_ffff)
        }
        XCTAssertThrowsError(try decoder.decode([0xdd, 0xff, 0xff, 0xff, 0xff, 0x01])) { error in
            guard case MessagePackError.lengthOverLimit = error else { return XCTFail("\(error)") }
        }
        // Within the limit but more elements than bytes present: wait for more, allocate nothing.
        XCTAssertThrowsError(try decoder.decode([0xdc, 0x10, 0x00, 0x01])) { error in
            guard case MessagePackError.truncated = error else { return XCTFail("\(error)") }
        }
    }

    func testDeepNestingIsBounded() {
        let bytes = [UInt8](repeating: 0x91, count: 100) + [0xc0]
        XCTAssertThrowsError(try decoder.decode(bytes)) { error in
            guard case MessagePackError.nestingTooDeep(let limit, _) = error else { return XCTFail("\(error)") }
            XCTAssertEqual(limit, 8)
        }
        XCTAssertThrowsError(try scan(bytes))
    }

    func testRandomBytesNeverCrashTheDecoder() {
        var generator = SystemRandomNumberGenerator()
        for _ in 0..<20_000 {
            let bytes = (0..<Int.random(in: 0..<64, using: &generator)).map { _ in UInt8.random(in: 0...255, using: &generator) }
            _ = try? decoder.decode(bytes)
            _ = try? scan(bytes)
        }
    }
}
