import Foundation
import Network

/// A CloudWatch Logs endpoint that answers every call at once with `{}` and
/// counts the events it was sent, so a benchmark measures the shipper alone.
// Safe to share: `lock` guards the counters and `stopped`; the listener is used by the accept thread only.
final class InstantCloudWatch: @unchecked Sendable {
    private let listener: StreamSocket
    let port: UInt16
    private let lock = NSLock()
    private var events = 0
    private var calls = 0

    init() throws {
        listener = try StreamSocket.listen(host: "127.0.0.1", port: 0)
        port = listener.localPort
        let thread = Thread { [self] in
            while !isStopped {
                guard listener.isReadable(within: 0.25) else { continue }
                guard let client = try? listener.accept() else { continue }
                let worker = Thread { [self] in serve(client) }
                worker.stackSize = 1 << 20
                worker.start()
            }
        }
        thread.start()
    }

    var eventCount: Int {
        lock.lock()
        defer { lock.unlock() }
        return events
    }

    var callCount: Int {
        lock.lock()
        defer { lock.unlock() }
        return calls
    }

    private var stopped = false
    private var isStopped: Bool {
        lock.lock()
        defer { lock.unlock() }
        return stopped
    }

    /// Ends the accept loop within its tick; connections already served run on.
    func stop() {
        lock.lock()
        stopped = true
        lock.unlock()
    }

    /// HTTP/1.1 with keep-alive: headers, `Content-Length` bytes of body, a 200 answer.
    private func serve(_ socket: StreamSocket) {
        defer { socket.shutdown() }
        var buffer = [UInt8](repeating: 0, count: 4 << 20)
        var filled = 0
        let marker = Array("\"timestamp\":".utf8)
        let answer = Array("HTTP/1.1 200 OK\r\nContent-Type: application/x-amz-json-1.1\r\nContent-Length: 2\r\n\r\n{}".utf8)
        while true {
            guard let headerEnd = find([13, 10, 13, 10], in: buffer, upTo: filled) else {
                if filled == buffer.count { return }
                guard let n = try? buffer.withUnsafeMutableBytes({ try socket.read(into: UnsafeMutableRawBufferPointer(rebasing: $0[filled...])) }), n > 0 else { return }
                filled += n
                continue
            }
            let header = String(decoding: buffer[0..<headerEnd], as: UTF8.self).lowercased()
            let length = header.split(separator: "\r\n").first { $0.hasPrefix("content-length:") }
                .flatMap { Int($0.dropFirst("content-length:".count).trimmingCharacters(in: .whitespaces)) } ?? 0
            let total = headerEnd + 4 + length
            guard total <= buffer.count else { return }
            while filled < total {
                guard let n = try? buffer.withUnsafeMutableBytes({ try socket.read(into: UnsafeMutableRawBufferPointer(rebasing: $0[filled...])) }), n > 0 else { return }
                filled += n
            }
            var count = 0
            var i = headerEnd + 4
            while let found = find(marker, in: buffer, from: i, upTo: total) {
                count += 1
                i = found + marker.count
            }
            lock.lock()
            events += count
            calls += 1
            lock.unlock()
            guard (try? socket.write(answer)) != nil else { return }
            buffer.withUnsafeMutableBytes { raw in
                raw.baseAddress!.copyMemory(from: raw.baseAddress! + total, byteCount: filled - total)
            }
            filled -= total
        }
    }

    private func find(_ needle: [UInt8], in haystack: [UInt8], from start: Int = 0, upTo end: Int) -> Int? {
        guard end - start >= needle.count else { return nil }
        let first = needle[0]
        var i = start
        while i <= end - needle.count {
            if haystack[i] == first {
                var j = 1
                while j < needle.count && haystack[i + j] == needle[j] { j += 1 }
                if j == needle.count { return i }
            }
            i += 1
        }
        return nil
    }
}
