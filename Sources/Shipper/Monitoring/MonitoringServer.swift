import Foundation
import Ingest
import Logging

/// The HTTP endpoint of `HTTP_Server On`, on `HTTP_Listen:HTTP_Port`
/// (127.0.0.1:2020 by default), with Fluent Bit's paths:
/// `/api/v1/health`, `/api/v1/metrics/prometheus`, and `/api/v1/status` (JSON for `shipper status`).
///
/// A few scrapes a minute need no more than blocking sockets and a thread per request.
final class MonitoringServer: @unchecked Sendable {
    struct Response {
        var status: Int
        var contentType: String
        var body: [UInt8]
    }

    private let listener: StreamSocket
    private let handler: @Sendable (String) -> Response
    private let logger: Logger
    let port: UInt16

    init(listen: String, port: UInt16, logger: Logger, handler: @escaping @Sendable (String) -> Response) throws {
        listener = try StreamSocket.listen(host: listen, port: port, backlog: 16)
        self.port = listener.localPort
        self.handler = handler
        self.logger = logger
        let thread = Thread { [self] in acceptLoop() }
        thread.name = "monitoring-accept"
        thread.start()
        logger.info("monitoring endpoint listening", metadata: ["listen": "\(listen)", "port": "\(self.port)"])
    }

    func stop() {
        listener.shutdown()
    }

    private func acceptLoop() {
        while let client = try? listener.accept() {
            let thread = Thread { [self] in serve(client) }
            thread.stackSize = 512 * 1024
            thread.start()
        }
    }

    private func serve(_ socket: StreamSocket) {
        defer { socket.shutdown() }
        var request: [UInt8] = []
        var chunk = [UInt8](repeating: 0, count: 4096)
        while !request.suffix(4).elementsEqual([13, 10, 13, 10]) && request.count < 16_384 {
            guard let n = try? chunk.withUnsafeMutableBytes({ try socket.read(into: $0) }), n > 0 else { return }
            request.append(contentsOf: chunk[0..<n])
            if let end = request.firstRange(of: [13, 10, 13, 10]) { request.removeSubrange(end.upperBound...); break }
        }
        let line = String(decoding: request.prefix { $0 != 13 }, as: UTF8.self).split(separator: " ")
        let response: Response
        if line.count >= 2, line[0] == "GET" {
            response = handler(String(line[1].split(separator: "?").first ?? ""))
        } else {
            response = Response(status: 405, contentType: "text/plain", body: Array("only GET\n".utf8))
        }
        let reason = [200: "OK", 404: "Not Found", 405: "Method Not Allowed", 500: "Internal Server Error"][response.status] ?? "Error"
        var head = "HTTP/1.1 \(response.status) \(reason)\r\nContent-Type: \(response.contentType)\r\n"
        head += "Content-Length: \(response.body.count)\r\nConnection: close\r\n\r\n"
        try? socket.write(Array(head.utf8) + response.body)
    }
}
