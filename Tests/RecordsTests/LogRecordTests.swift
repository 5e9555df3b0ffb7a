import XCTest
@testable import Records

/// `LogRecord` reads fields in place from the bytes a client sent; these
/// check that what it reads and edits matches the decoded view.
final class LogRecordTests: XCTestCase {
    private let limits = ForwardFrame.Limits(maxInflatedBytes: 1 << 20, decoder: MessagePackDecoder(maxLength: 1 << 20))

    /// A record as the frame parser builds it: from wire bytes, not from values.
    private func received(_ record: MessagePackValue) throws -> LogRecord {
        let frame = try ForwardFrame(parsing: MessagePackEncoder.encoded(.array([.string("t"), .int(1), record])), limits: limits)
        return frame.entries[0].record
    }

    private func json(_ record: LogRecord) -> String {
        String(decoding: RecordJSON.encode(record), as: UTF8.self)
    }

    private let nested: MessagePackValue = .map([
        MessagePackPair(key: .string("log"), value: .string("hello")),
        MessagePackPair(key: .string("code"), value: .int(-300)),
        MessagePackPair(key: .string("kube"), value: .map([
            MessagePackPair(key: .int(7), value: .string("not a string key")),
            MessagePackPair(key: .string("pod"), value: .map([MessagePackPair(key: .string("name"), value: .string("web-1"))])),
        ])),
    ])

    func testReadsFieldsInPlaceAsTheDecodedViewDoes() throws {
        let record = try received(nested)
        guard case .map(let pairs) = nested else { return XCTFail("fixture is a map") }
        XCTAssertEqual(record.fields, pairs)
        XCTAssertEqual(record.count, 3)
        XCTAssertEqual(record["code"], .int(-300))
        XCTAssertEqual(record.index(of: Array("kube".utf8)), 2)
        XCTAssertNil(record.index(of: Array("kub".utf8)))
        XCTAssertEqual(record.value(at: ["kube", "pod", "name"].map { Array($0.utf8) }), .string("web-1"))
        XCTAssertNil(record.value(at: ["kube", "pod", "missing"].map { Array($0.utf8) }))
        XCTAssertNil(record.value(at: ["log", "deeper"].map { Array($0.utf8) }), "a string has no keys")
        XCTAssertEqual(record.textBytes(at: [Array("code".utf8)]).map { String(decoding: $0, as: UTF8.self) }, "-300")
        XCTAssertEqual(record.textBytes(at: [Array("log".utf8)]).map { String(decoding: $0, as: UTF8.self) }, "hello")
        XCTAssertNil(record.textBytes(at: [Array("kube".utf8)]), "a map has no text")
        XCTAssertEqual(record, LogRecord(fields: pairs), "equality does not depend on where the bytes lie")
        XCTAssertEqual(json(record), json(LogRecord(fields: pairs)))
        XCTAssertEqual(json(record), #"{"log":"hello","code":-300,"kube":{"7":"not a string key","pod":{"name":"web-1"}}}"#)
    }

    func testEditsKeepOrderAndLeaveOtherFieldsAlone() throws {
        var record = try received(nested)
        record.renameField(at: 0, to: Array("message".utf8))
        record.appendField(key: Array("copy".utf8), copyingValueOf: 1)
        record.setField(key: Array("code".utf8), encodedValue: MessagePackEncoder.encoded(.string("replaced")))
        record["added"] = .bool(true)
        record["kube"] = nil
        XCTAssertEqual(json(record), #"{"message":"hello","code":"replaced","copy":-300,"added":true}"#)
        record.setValue(ofField: 0, toValueOf: 2)
        record.removeField(at: 2)
        XCTAssertEqual(json(record), #"{"message":-300,"code":"replaced","added":true}"#)
    }

    func testEncodesBackToTheSameMap() throws {
        var record = try received(nested)
        record.renameField(at: 1, to: Array("status".utf8))
        var encoder = MessagePackEncoder()
        record.encode(into: &encoder)
        XCTAssertEqual(try MessagePackDecoder().decode(encoder.bytes), .map(record.fields))
        XCTAssertEqual(record.fields.map { String(decoding: $0.key.stringBytes ?? [], as: UTF8.self) }, ["log", "status", "kube"])
    }

    func testCopiesAreIndependent() throws {
        let original = try received(nested)
        var copy = original
        copy.renameField(at: 0, to: Array("renamed".utf8))
        copy["code"] = .int(1)
        XCTAssertEqual(original["code"], .int(-300))
        XCTAssertNotNil(original["log"])
        XCTAssertNil(copy["log"])
    }
}
