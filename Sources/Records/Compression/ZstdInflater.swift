import CZstd

/// Inflates zstd data (`compressed: "zstd"`, as Fluentd 1.19 and Fluent Bit
/// 4.1+ send it) that may hold several frames back to back, and stops at
/// `limit` bytes like `GzipInflater`, so a zstd bomb costs nothing more than
/// the limit. The decoder's window is capped too: a frame may ask for up to
/// 2 GiB of it, and 8 MiB covers every compression level a forwarder uses.
/// `claim` is told of each step of output before it is kept, as with gzip.
public enum ZstdInflater {
    /// log2 of the largest window a frame may ask for.
    static let maxWindowLog: Int32 = 23

    public static func inflate(_ input: UnsafeBufferPointer<UInt8>, limit: Int, claim: (Int) throws -> Void = { _ in }) throws -> [UInt8] {
        guard let context = ZSTD_createDCtx() else { throw InflateError.corrupt(.zstd, "cannot create a decoder") }
        defer { ZSTD_freeDCtx(context) }
        try check(ZSTD_DCtx_setParameter(context, ZSTD_d_windowLogMax, maxWindowLog))
        guard let base = input.baseAddress, !input.isEmpty else { return [] }

        var output: [UInt8] = []
        var chunk = [UInt8](repeating: 0, count: 64 * 1024)
        var source = ZSTD_inBuffer(src: base, size: input.count, pos: 0)
        while true {
            var produced = 0
            let hint = try chunk.withUnsafeMutableBytes { out -> Int in
                var target = ZSTD_outBuffer(dst: out.baseAddress, size: out.count, pos: 0)
                let hint = try check(ZSTD_decompressStream(context, &target, &source))
                produced = target.pos
                return hint
            }
            guard output.count + produced <= limit else { throw InflateError.inflatedSizeOverLimit(.zstd, limit: limit) }
            try claim(produced)
            output.append(contentsOf: chunk[0..<produced])
            // 0: a frame ended and is flushed. With input left, another frame follows.
            if hint == 0 && source.pos == source.size { return output }
            // No input left, the output not full, and the frame not done: the data stops inside it.
            if source.pos == source.size && produced < chunk.count { throw InflateError.truncated(.zstd) }
        }
    }

    @discardableResult
    private static func check(_ code: Int) throws -> Int {
        guard ZSTD_isError(code) == 0 else { throw InflateError.corrupt(.zstd, String(cString: ZSTD_getErrorName(code))) }
        return code
    }
}
