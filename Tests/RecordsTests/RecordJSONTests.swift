import XCTest
@testable import Records

final class RecordJSONTests: XCTestCase {
    private func json(_ record: LogRecord) -> String {
        String(decoding: RecordJSON.encode(record), as: UTF8.self)
    }

    func testKeysKeepTheirOrderAndValuesTheirTypes() {
        let record = LogRecord(["z": .int(-1), "a": .bool(true), "m": .nil, "n": .double(1.5), "arr": .array([.uint(18_446_744_073_709_551_615), .string("x")])])
        XCTAssertEqual(json(record), #"{"z":-1,"a":true,"m":null,"n":1.5,"arr":[18446744073709551615,"x"]}"#)
    }

    func testEscapesControlCharactersQuotesAndBackslashes() {
        let record = LogRecord(["log": .string("tab\tquote\"slash\\nl\n\u{01}é")])
        XCTAssertEqual(json(record), #"{"log":"tab\tquote\"slash\\nl\n\u0001é"}"#)
    }

    func testInvalidUTF8BecomesReplacementCharacters() {
        let record = LogRecord(fields: [MessagePackPair(key: .string("log"), value: .string([0x61, 0xff, 0x62]))])
        XCTAssertEqual(json(record), "{\"log\":\"a\u{FFFD}b\"}")
    }

    /// The validation agrees with the standard library's on bytes that mix ASCII runs of every
    /// length with well-formed, overlong, surrogate, too-large and cut-off sequences at every offset.
    func testUTF8ValidationAgreesWithTheStandardLibrary() {
        let pieces: [[UInt8]] = [
            Array("a".utf8), Array("abcdefghij".utf8), Array("é".utf8), Array("€".utf8), Array("😀".utf8),
            [0x80], [0xc0, 0xaf], [0xe0, 0x80, 0xaf], [0xed, 0xa0, 0x80], [0xf4, 0x90, 0x80, 0x80], [0xc3], [0xe2, 0x82], [0xff],
        ]
        var generator = SystemRandomNumberGenerator()
        for _ in 0..<5000 {
            var bytes: [UInt8] = []
            for _ in 0..<Int.random(in: 0...6, using: &generator) {
                bytes += Array(repeating: UInt8(ascii: "k"), count: Int.random(in: 0...17, using: &generator))
                bytes += pieces.randomElement(using: &generator)!
            }
            let expected = String(validating: bytes, as: UTF8.self) != nil
            XCTAssertEqual(bytes.withUnsafeBufferPointer { RecordJSON.isValidUTF8($0) }, expected, "\(bytes)")
        }
    }

    func testTheWordAtATimeScanStopsAtTheWordOfTheFirstSpecialByte() {
        for special: UInt8 in [0x00, 0x1f, 0x22, 0x5c, 0x7f, 0x80, 0xc3, 0xff] {
            for position in 0..<27 {
                var bytes = [UInt8](repeating: UInt8(ascii: "a"), count: 27)
                bytes[position] = special
                let prefix = bytes.withUnsafeBufferPointer(RecordJSON.plainASCIIPrefix)
                // 0x7f (DEL) needs no escaping, so the scan runs on past it.
                let expected = special == 0x7f ? 24 : position / 8 * 8
                XCTAssertEqual(prefix, expected, "byte 0x\(String(special, radix: 16)) at \(position)")
            }
        }
        let record = LogRecord(["log": .string(String(repeating: "abcdefg", count: 3) + "\"\\\n" + String(repeating: "z", count: 9))])
        XCTAssertEqual(json(record), #"{"log":"abcdefgabcdefgabcdefg\"\\\nzzzzzzzzz"}"#)
    }

    /// A message longer than one scratch slice, with escapes and multibyte
    /// characters across each slice's end, reads back exactly.
    func testAMessageOfManySlicesReadsBackAsWritten() throws {
        let unit = "ab\"\\\n\u{1}é€😀"
        let text = String(repeating: unit, count: 3 * RecordJSON.escapeSlice / unit.utf8.count + 7)
        XCTAssertGreaterThan(text.utf8.count, 3 * RecordJSON.escapeSlice)
        let rendered = RecordJSON.encode(LogRecord(["log": .string(text)]))
        let object = try XCTUnwrap(try JSONSerialization.jsonObject(with: Data(rendered)) as? [String: String])
        XCTAssertEqual(object["log"], text)
    }

    func testEveryASCIIByteBesideMultibyteTextReadsBackAsWritten() throws {
        // Valid UTF-8 that needs escaping takes the byte-at-a-time path: Foundation must read back each string exactly.
        for byte in UInt8(0)...0x7f {
            let text = "é\(Character(Unicode.Scalar(byte)))€ {\"log\":\"x\"} 😀"
            let rendered = RecordJSON.encode(LogRecord(["log": .string(text)]))
            let object = try XCTUnwrap(try JSONSerialization.jsonObject(with: Data(rendered)) as? [String: String], "byte 0x\(String(byte, radix: 16))")
            XCTAssertEqual(object["log"], text, "byte 0x\(String(byte, radix: 16))")
        }
    }

    func testAKeyThatIsNotAStringBecomesTheStringOfItsJSONEscapedOnce() throws {
        let inner: MessagePackValue = .map([MessagePackPair(key: .string("a"), value: .int(1))])
        let keyedByAMap: MessagePackValue = .map([MessagePackPair(key: .map([MessagePackPair(key: inner, value: .int(2))]), value: .int(3))])
        XCTAssertEqual(json(LogRecord(fields: [MessagePackPair(key: .string("k"), value: keyedByAMap)])), #"{"k":{"{{\"a\":1}:2}":3}}"#)

        // Maps keyed by maps, 24 levels deep: escaping each level's key again
        // would double the output per level (to tens of MiB); escaped once, it
        // stays a small multiple of the input.
        var value: MessagePackValue = .string("leaf \"quoted\"")
        for _ in 0..<24 { value = .map([MessagePackPair(key: value, value: .int(0))]) }
        let record = LogRecord(fields: [MessagePackPair(key: .string("k"), value: value)])
        let rendered = RecordJSON.encode(record)
        XCTAssertLessThan(rendered.count, 4 * MessagePackEncoder.encoded(value).count + 64)
        XCTAssertNoThrow(try JSONSerialization.jsonObject(with: Data(rendered)))
    }

    func testOutputIsValidJSONForFoundation() throws {
        let record = LogRecord(["log": .string("line\u{7f} \u{1F600}"), "nested": .map([MessagePackPair(key: .string("k"), value: .binary([0x41]))])])
        let object = try JSONSerialization.jsonObject(with: Data(RecordJSON.encode(record))) as? [String: Any]
        XCTAssertEqual(object?["log"] as? String, "line\u{7f} \u{1F600}")
    }
}
