import XCTest
@testable import Records

/// The scanner must find the end of a value where decoding it ends, however
/// the bytes are cut into reads, and refuse what decoding refuses.
final class MessagePackScannerTests: XCTestCase {
    private let decoder = MessagePackDecoder(maxLength: 1 << 20, maxDepth: 8)

    private let values: [MessagePackValue] = [
        .nil, .int(-33), .uint(.max), .double(1.5), .string(String(repeating: "x", count: 70_000)),
        .binary([1, 2, 3]), .ext(type: 0, data: [0, 0, 0, 1, 0, 0, 0, 2]), .array([]), .map([]),
        .array([.string("tag"), .array((0..<50).map { .array([.int(Int64($0)), .map([MessagePackPair(key: .string("log"), value: .string("line \($0)"))])]) }),
                .map([MessagePackPair(key: .string("chunk"), value: .string("c1"))])]),
        .map([MessagePackPair(key: .array([.int(1), .map([])]), value: .array([.array([.array([.nil])])]))]),
    ]

    /// Feeds `bytes` in pieces that end at `cuts`, then whole; returns what the last scan said.
    private func scan(_ bytes: [UInt8], cuts: [Int]) throws -> Int? {
        var scanner = MessagePackScanner(limitsOf: decoder)
        return try bytes.withUnsafeBufferPointer { whole in
            for cut in cuts.sorted() where cut < whole.count {
                XCTAssertNil(try scanner.scan(UnsafeBufferPointer(rebasing: whole[..<cut])), "a prefix of \(cut) of \(whole.count) bytes is not complete")
            }
            return try scanner.scan(whole)
        }
    }

    /// A connection keeps one scanner for all its frames: after `restart` it finds each value's end
    /// as a new scanner would, whatever the values before it were and however they were cut.
    func testARestartedScannerFindsEachValueAsANewOneWould() throws {
        var scanner = MessagePackScanner(limitsOf: decoder)
        for value in values + values.reversed() {
            let bytes = MessagePackEncoder.encoded(value) + [0x93, 0xa1]
            let length = bytes.count - 2
            scanner.restart()
            try bytes.withUnsafeBufferPointer { whole in
                if length > 1 { XCTAssertNil(try scanner.scan(UnsafeBufferPointer(rebasing: whole[..<(length / 2)]))) }
                XCTAssertEqual(try scanner.scan(whole), length)
            }
        }
    }

    func testEveryWayOfCuttingAValueFindsTheEndDecodingFinds() throws {
        var generator = SystemRandomNumberGenerator()
        for value in values {
            let bytes = MessagePackEncoder.encoded(value)
            // Trailing bytes of the next frame must not be taken into this one.
            let stream = bytes + [0x93, 0xa1]
            XCTAssertEqual(try scan(stream, cuts: []), bytes.count)
            XCTAssertEqual(try scan(stream, cuts: Array(0..<min(bytes.count, 300))), bytes.count, "one byte at a time")
            for _ in 0..<20 {
                let cuts = (0..<4).map { _ in Int.random(in: 0..<bytes.count, using: &generator) }
                XCTAssertEqual(try scan(stream, cuts: cuts), bytes.count, "cut at \(cuts.sorted())")
            }
        }
    }

    func testRefusesWhatDecodingRefuses() throws {
        let tooDeep = MessagePackEncoder.encoded((0..<10).reduce(MessagePackValue.nil) { inner, _ in .array([inner]) })
        let hostile: [[UInt8]] = [
            [0xc1],                                  // never used type byte
            [0xdb, 0xff, 0xff, 0xff, 0xff, 0x41],    // a 4 GiB string
            [0xdd, 0x7f, 0xff, 0xff, 0xff],          // two billion elements
            tooDeep,
        ]
        for bytes in hostile {
            XCTAssertThrowsError(try decoder.decode(bytes))
            XCTAssertThrowsError(try scan(bytes, cuts: [1, 2])) { error in
                XCTAssertNotNil(error as? MessagePackError)
                if case MessagePackError.truncated = error { XCTFail("\(bytes.prefix(6)) is refused, not waited for") }
            }
        }
    }
}
