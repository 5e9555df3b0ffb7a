import XCTest
@testable import CloudWatchLogs

/// The answers the socket transport reads off the wire.
final class HTTPResponseParsingTests: XCTestCase {
    func testContentLengthChunkedAndTruncatedAnswers() throws {
        let plain = try HTTPResponseParser.parse(Array("HTTP/1.1 400 Bad Request\r\nContent-Type: application/x-amz-json-1.1\r\nContent-Length: 2\r\nDate: x\r\n\r\n{}".utf8))
        XCTAssertEqual(plain.status, 400)
        XCTAssertEqual(plain.headers["content-type"], "application/x-amz-json-1.1")
        XCTAssertEqual(plain.body, Data("{}".utf8))

        let chunked = try HTTPResponseParser.parse(Array("HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n4\r\n{\"a\"\r\n3\r\n:1}\r\n0\r\n\r\n".utf8))
        XCTAssertEqual(chunked.status, 200)
        XCTAssertEqual(String(decoding: chunked.body, as: UTF8.self), #"{"a":1}"#)

        XCTAssertThrowsError(try HTTPResponseParser.parse(Array("HTTP/1.1 200 OK\r\nContent-Length: 10\r\n\r\n{}".utf8)))
        XCTAssertThrowsError(try HTTPResponseParser.parse(Array("HTTP/1.1 200 OK\r\nContent-Le".utf8)))
    }
}
