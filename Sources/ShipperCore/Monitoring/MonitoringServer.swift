import Foundation
import Network
import Logging

/// The HTTP endpoint of `HTTP_Server On`, on `HTTP_Listen:HTTP_Port`
/// (127.0.0.1:2020 by default), with Fluent Bit's paths:
/// `/api/v1/health`, `/api/v1/metrics/prometheus`, and `/api/v1/status` (JSON for `shipper status`).
///
/// Its budget is fixed, however many clients connect: one thread watches the
/// listener and every connection that has not sent its request yet (a poll,
/// no thread each), and a connection is handed to one of `workers` threads
/// only once it has bytes to read. A connection that sends no whole request
/// within `requestDeadline`, or more than `maxRequestBytes`, is closed, and
/// past `maxWaiting` connections the longest waiting is closed first. So idle
/// or slow clients cost a socket each and never a thread, and a scrape is
/// answered while a thousand of them sit open.
// Safe to share: `lock` guards `ready`, `stopping`; `waiting` is the watcher thread's.
final class MonitoringServer: @unchecked Sendable {
    struct Response {
        var status: Int
        var contentType: String
        var body: [UInt8]
    }

    static let workers = 2
    static let requestDeadline = 5.0
    static let maxRequestBytes = 16_384
    static let maxWaiting = 1024

    private let listener: StreamSocket
    private let handler: @Sendable (String) -> Response
    private let logger: Logger
    let port: UInt16
    private let lock = NSCondition()
    /// Connections with bytes to read, for the workers.
    private var ready: [(socket: StreamSocket, deadline: DispatchTime)] = []
    private var stopping = false
    /// Accepted connections that have sent nothing yet, oldest first (the watcher's own).
    private var waiting: [(socket: StreamSocket, deadline: DispatchTime)] = []
    private let threadsDone = DispatchGroup()

    init(listen: String, port: UInt16, logger: Logger, handler: @escaping @Sendable (String) -> Response) throws {
        listener = try StreamSocket.listen(host: listen, port: port, backlog: 128)
        self.port = listener.localPort
        self.handler = handler
        self.logger = logger
        start("monitor-watch") { [self] in watch() }
        for _ in 0..<Self.workers { start("monitor-worker") { [self] in work() } }
        logger.info("monitoring endpoint listening", metadata: ["listen": "\(listen)", "port": "\(self.port)"])
    }

    private func start(_ name: String, _ body: @escaping @Sendable () -> Void) {
        threadsDone.enter()
        let thread = Thread { [threadsDone] in
            Thread.current.name = name
            body()
            threadsDone.leave()
        }
        thread.stackSize = 512 * 1024
        thread.start()
        // Named from inside and again once started, in at most 15 bytes (Linux drops a longer name): Foundation names only a thread
        // it knows, and the new thread renames itself as it starts; whichever runs last, one of the two names it.
        thread.name = name
    }

    /// Stops the threads (within a tick) and closes every connection still open.
    func stop() {
        lock.lock()
        stopping = true
        lock.broadcast()
        lock.unlock()
        threadsDone.wait()
        listener.close()
    }

    private var isStopping: Bool {
        lock.lock()
        defer { lock.unlock() }
        return stopping
    }

    /// Accepts, and moves each connection to the workers once it is readable.
    private func watch() {
        while !isStopping {
            let sockets = [listener] + waiting.map(\.socket)
            let readable = StreamSocket.readable(sockets, within: 0.25)
            let now = DispatchTime.now()
            var still: [(socket: StreamSocket, deadline: DispatchTime)] = []
            for (index, entry) in waiting.enumerated() {
                if readable[index + 1] {
                    hand(entry)
                } else if now >= entry.deadline {
                    entry.socket.shutdown()
                } else {
                    still.append(entry)
                }
            }
            waiting = still
            if readable[0], let client = try? listener.accept() {
                if waiting.count >= Self.maxWaiting { waiting.removeFirst().socket.shutdown() }
                waiting.append((client, now + Self.requestDeadline))
            }
        }
        for entry in waiting { entry.socket.shutdown() }
        waiting = []
    }

    private func hand(_ entry: (socket: StreamSocket, deadline: DispatchTime)) {
        lock.lock()
        ready.append(entry)
        lock.signal()
        lock.unlock()
    }

    private func work() {
        while true {
            lock.lock()
            while ready.isEmpty && !stopping { lock.wait() }
            if stopping {
                let left = ready
                ready = []
                lock.unlock()
                for entry in left { entry.socket.shutdown() }
                return
            }
            let entry = ready.removeFirst()
            lock.unlock()
            serve(entry.socket, deadline: entry.deadline)
        }
    }

    private func serve(_ socket: StreamSocket, deadline: DispatchTime) {
        defer { socket.shutdown() }
        // Reads wait in short ticks, so a client trickling its request cannot hold a worker past the deadline.
        socket.setReceiveTimeout(0.25)
        var request: [UInt8] = []
        var chunk = [UInt8](repeating: 0, count: 4096)
        while request.firstRange(of: [13, 10, 13, 10]) == nil {
            guard request.count < Self.maxRequestBytes, DispatchTime.now() < deadline, !isStopping else { return }
            do {
                try socket.awaitInput()
                let n = try chunk.withUnsafeMutableBytes { try socket.read(into: $0) }
                guard n > 0 else { return }
                request.append(contentsOf: chunk[0..<n])
            } catch let error as SocketError where error.isTimeout {
                continue
            } catch {
                return
            }
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
