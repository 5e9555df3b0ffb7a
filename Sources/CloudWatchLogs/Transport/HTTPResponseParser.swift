import Foundation

/// Reads an HTTP/1.1 answer off the wire for `SocketHTTPTransport`: the status
/// line, the headers, and a body sized by `Content-Length`, chunked, or running
/// to the end of the connection.
enum HTTPResponseParser {
    /// Why an answer could not be read.
    struct Malformed: Error, CustomStringConvertible {
        let reason: String
        var description: String { "reading the answer: \(reason)" }
    }

    /// Where the header ends (the first byte after its blank line), once it has come whole.
    static func headerEnd(_ bytes: [UInt8]) -> Int? {
        bytes.firstRange(of: [13, 10, 13, 10])?.upperBound
    }

    /// Whether `bytes` hold the whole answer, so that reading can stop before the
    /// connection closes: a complete header and its `Content-Length` of body. A
    /// chunked answer (or one without a length) ends with the connection.
    static func isComplete(_ bytes: [UInt8]) -> Bool {
        guard let end = headerEnd(bytes) else { return false }
        let headers = headerFields(bytes[..<end])
        guard headers["transfer-encoding"] == nil, let length = headers["content-length"].flatMap({ Int($0) }) else { return false }
        return bytes.count - end >= length
    }

    /// Status, headers (lower-cased names) and body of a whole answer.
    static func parse(_ bytes: [UInt8]) throws -> HTTPResponse {
        guard let end = headerEnd(bytes) else { throw Malformed(reason: "no complete HTTP header") }
        let status = String(decoding: bytes[..<end], as: UTF8.self).prefix { $0 != "\r" }
            .split(separator: " ").dropFirst().first.flatMap { Int($0) } ?? 0
        let headers = headerFields(bytes[..<end])
        var body = Array(bytes[end...])
        if headers["transfer-encoding"]?.lowercased() == "chunked" {
            var decoded: [UInt8] = []
            var rest = body[...]
            while let lineEnd = rest.firstRange(of: [13, 10]),
                  let size = Int(String(decoding: rest[..<lineEnd.lowerBound], as: UTF8.self).split(separator: ";").first ?? "", radix: 16), size > 0 {
                let start = lineEnd.upperBound
                guard rest.endIndex - start >= size else { break }
                decoded.append(contentsOf: rest[start..<start + size])
                rest = rest[min(rest.endIndex, start + size + 2)...]
            }
            body = decoded
        } else if let length = headers["content-length"].flatMap({ Int($0) }) {
            guard body.count >= length else { throw Malformed(reason: "the connection closed after \(body.count) of \(length) body bytes") }
            body = Array(body.prefix(length))
        }
        return HTTPResponse(status: status, headers: headers, body: Data(body))
    }

    private static func headerFields(_ head: ArraySlice<UInt8>) -> [String: String] {
        var headers: [String: String] = [:]
        for line in String(decoding: head, as: UTF8.self).components(separatedBy: "\r\n").dropFirst() {
            guard let colon = line.firstIndex(of: ":") else { continue }
            headers[line[..<colon].lowercased()] = line[line.index(after: colon)...].trimmingCharacters(in: .whitespaces)
        }
        return headers
    }
}
