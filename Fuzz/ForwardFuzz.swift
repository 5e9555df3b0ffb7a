// Compiled together with the decoder sources of Sources/Ingest into one module
// by scripts/fuzz (swiftc -sanitize=fuzzer), so no package plumbing is needed.

/// libFuzzer's entry point: every input is a stream of bytes a client might send.
/// It must never crash the decoders, and the structural scan (`measure`) must
/// agree with the full decode on where each value ends, and a record read in
/// place must render the same JSON as its decoded fields.
@_cdecl("LLVMFuzzerTestOneInput")
public func fuzzOneInput(_ data: UnsafePointer<UInt8>?, _ size: Int) -> CInt {
    let bytes = UnsafeBufferPointer(start: data, count: size)
    let decoder = MessagePackDecoder(maxLength: 1 << 20, maxDepth: 64)
    let limits = ForwardFrame.Limits(maxInflatedBytes: 1 << 20, decoder: decoder)
    var offset = 0
    while offset < bytes.count {
        let measured = try? decoder.measure(bytes, offset: offset)
        var end = offset
        guard (try? decoder.decode(bytes, offset: &end)) != nil else {
            precondition(measured == nil, "measure accepted a value that decode refused")
            break
        }
        precondition(measured == end - offset, "measure and decode disagree on the value's length")
        let frameBytes = UnsafeBufferPointer(rebasing: bytes[offset..<end])
        if let frame = try? ForwardFrame(parsing: frameBytes, limits: limits) {
            for entry in frame.entries {
                // The record read in place and its decoded fields render the same JSON.
                precondition(RecordJSON.encode(entry.record) == RecordJSON.encode(LogRecord(fields: entry.record.fields)),
                             "in-place and decoded views of a record disagree")
            }
        }
        offset = end
    }
    return 0
}
