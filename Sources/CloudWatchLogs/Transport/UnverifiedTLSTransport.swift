import Foundation
import Network

/// HTTPS without certificate checks, for `tls.verify Off` on test endpoints
/// with self-signed certificates (`URLSession` on Linux offers no such switch).
/// One connection per call, `Connection: close`, over the Network layer's TLS
/// client; never used unless the operator turned verification off.
final class UnverifiedTLSTransport: HTTPTransport, Sendable {
    private let tls: TLSClientContext
    private let timeout: TimeInterval

    init(timeout: TimeInterval) throws {
        tls = try TLSClientContext(caFile: nil, verify: false)
        self.timeout = timeout
    }

    func post(_ url: URL, headers: [(name: String, value: String)], body: Data) async throws -> HTTPResponse {
        try await withCheckedThrowingContinuation { continuation in
            DispatchQueue.global().async {
                continuation.resume(with: Result { try self.exchange(url, headers: headers, body: body) })
            }
        }
    }

    private func exchange(_ url: URL, headers: [(name: String, value: String)], body: Data) throws -> HTTPResponse {
        guard let host = url.host else { throw TLSError(operation: "POST \(url)", reason: "the URL has no host") }
        let socket = try StreamSocket.connect(host: host, port: UInt16(url.port ?? 443))
        defer { socket.shutdown() }
        // The handshake too must end within the timeout; the connection is not reused after one.
        socket.setHandshakeReceiveTimeout(timeout)
        let stream = try tls.connect(socket, host: host)
        stream.setReceiveTimeout(timeout)
        var request = "POST \(url.path.isEmpty ? "/" : url.path) HTTP/1.1\r\n"
        for header in headers { request += "\(header.name): \(header.value)\r\n" }
        request += "Content-Length: \(body.count)\r\nConnection: close\r\n\r\n"
        try stream.write(Array(request.utf8) + Array(body))

        var received: [UInt8] = []
        var buffer = [UInt8](repeating: 0, count: 64 * 1024)
        while true {
            let n = try buffer.withUnsafeMutableBytes { try stream.read(into: $0) }
            if n == 0 { break }
            received.append(contentsOf: buffer[0..<n])
        }
        return try Self.parse(received)
    }

    /// Status line, headers, and a body that is either chunked or runs to the end.
    static func parse(_ bytes: [UInt8]) throws -> HTTPResponse {
        guard let split = bytes.firstRange(of: [13, 10, 13, 10]) else {
            throw TLSError(operation: "reading the answer", reason: "no complete HTTP header")
        }
        let head = String(decoding: bytes[..<split.lowerBound], as: UTF8.self).components(separatedBy: "\r\n")
        let status = head.first.flatMap { line in line.split(separator: " ").dropFirst().first.flatMap { Int($0) } } ?? 0
        var headers: [String: String] = [:]
        for line in head.dropFirst() {
            guard let colon = line.firstIndex(of: ":") else { continue }
            headers[line[..<colon].lowercased()] = line[line.index(after: colon)...].trimmingCharacters(in: .whitespaces)
        }
        var body = Array(bytes[split.upperBound...])
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
            guard body.count >= length else {
                throw TLSError(operation: "reading the answer", reason: "the connection closed after \(body.count) of \(length) body bytes")
            }
            body = Array(body.prefix(length))
        }
        return HTTPResponse(status: status, headers: headers, body: Data(body))
    }
}
