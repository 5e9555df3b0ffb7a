import CZlib

/// Inflates gzip data that may hold several members back to back, as Fluentd
/// forwarders send them, and stops at `limit` bytes so a gzip bomb costs
/// nothing more than the limit. `claim` is told of each step of output before
/// it is kept (and may throw), so a caller can account for memory as it grows.
public enum GzipInflater {
    public static func inflate(_ input: UnsafeBufferPointer<UInt8>, limit: Int, claim: (Int) throws -> Void = { _ in }) throws -> [UInt8] {
        var stream = z_stream()
        // 15 + 32: accept gzip or zlib headers, with the largest window.
        guard czlib_inflate_init2(&stream, 15 + 32) == Z_OK else { throw InflateError.corrupt(.gzip, "inflateInit2 failed") }
        defer { inflateEnd(&stream) }

        var output: [UInt8] = []
        var chunk = [UInt8](repeating: 0, count: 64 * 1024)
        guard let base = input.baseAddress else { return [] }
        stream.next_in = UnsafeMutablePointer(mutating: base)
        stream.avail_in = uInt(input.count)
        while true {
            let status: Int32 = chunk.withUnsafeMutableBufferPointer { out in
                stream.next_out = out.baseAddress
                stream.avail_out = uInt(out.count)
                return CZlib.inflate(&stream, Z_NO_FLUSH)
            }
            let produced = chunk.count - Int(stream.avail_out)
            guard output.count + produced <= limit else { throw InflateError.inflatedSizeOverLimit(.gzip, limit: limit) }
            try claim(produced)
            output.append(contentsOf: chunk[0..<produced])
            switch status {
            case Z_STREAM_END:
                // Another member may follow the one that just ended.
                if stream.avail_in == 0 { return output }
                guard inflateReset(&stream) == Z_OK else { throw InflateError.corrupt(.gzip, "inflateReset failed") }
            case Z_OK:
                continue
            case Z_BUF_ERROR:
                if stream.avail_in == 0 { throw InflateError.truncated(.gzip) }
                continue
            default:
                let message = stream.msg.map { String(cString: $0) } ?? "zlib status \(status)"
                throw InflateError.corrupt(.gzip, message)
            }
        }
    }
}
