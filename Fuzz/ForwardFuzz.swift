// Compiled together with the decoder sources of Sources/Ingest into one module
// by scripts/fuzz (swiftc -sanitize=fuzzer), so no package plumbing is needed.

/// libFuzzer's entry point: every input is a stream of bytes a client might send.
/// It must never crash the decoders, and the structural scan (`measure`) must
/// agree with the full decode on where each value ends.
@_cdecl("LLVMFuzzerTestOneInput")
public func fuzzOneInput(_ data: UnsafePointer<UInt8>?, _ size: Int) -> CInt {
    let bytes = UnsafeBufferPointer(start: data, count: size)
    let decoder = MessagePackDecoder(maxLength: 1 << 20, maxDepth: 64)
    let limits = ForwardFrame.Limits(maxInflatedBytes: 1 << 20, decoder: decoder)
    var offset = 0
    while offset < bytes.count {
        let measured = try? decoder.measure(bytes, offset: offset)
        var end = offset
        guard let value = try? decoder.decode(bytes, offset: &end) else {
            precondition(measured == nil, "measure accepted a value that decode refused")
            break
        }
        precondition(measured == end - offset, "measure and decode disagree on the value's length")
        if let frame = try? ForwardFrame(value, limits: limits) {
            for entry in frame.entries {
                _ = RecordJSON.encode(entry.record)
            }
        }
        offset = end
    }
    return 0
}
