// Compiled together with the sources of Sources/Records (every decoder) into one module
// by scripts/fuzz (swiftc -swift-version 6 -sanitize=fuzzer), so no package plumbing is needed.

/// libFuzzer's entry point: every input is a stream of bytes a client might send.
/// It must never crash the decoders; the resumable scanner, fed whole or in
/// pieces, and the full decode must agree on where each value ends; and a
/// record read in place must render the same JSON as its decoded fields.
@_cdecl("LLVMFuzzerTestOneInput")
public func fuzzOneInput(_ data: UnsafePointer<UInt8>?, _ size: Int) -> CInt {
    let bytes = UnsafeBufferPointer(start: data, count: size)
    let decoder = MessagePackDecoder(maxLength: 1 << 20, maxDepth: 64)
    let limits = ForwardFrame.Limits(maxInflatedBytes: 1 << 20, decoder: decoder)
    var offset = 0
    while offset < bytes.count {
        let rest = UnsafeBufferPointer(rebasing: bytes[offset...])
        var whole = MessagePackScanner(limitsOf: decoder)
        let scanned: Int? = try? whole.scan(rest)
        // Fed in two pieces, the scanner ends in the same place (or refuses too).
        var pieces = MessagePackScanner(limitsOf: decoder)
        let scannedInPieces: Int? = try? {
            _ = try pieces.scan(UnsafeBufferPointer(rebasing: rest[..<(rest.count / 2)]))
            return try pieces.scan(rest)
        }()
        precondition(scannedInPieces == scanned, "the scanner ends elsewhere when fed in pieces")
        var end = offset
        guard let value = try? decoder.decode(bytes, offset: &end) else {
            precondition(scanned == nil, "the scanner accepted a value that decode refused")
            break
        }
        precondition(scanned == end - offset, "the scanner and decode disagree on the value's length")
        let frameBytes = UnsafeBufferPointer(rebasing: bytes[offset..<end])
        if let frame = try? ForwardFrame(parsing: frameBytes, limits: limits) {
            // The options read in place name the chunk the decoded option map does (its last "chunk" key).
            if case .array(let elements) = value, let option = optionMap(of: elements) {
                let chunk = option.last { $0.key == .string(Array("chunk".utf8)) }?.value
                precondition(frame.chunk == chunk, "the options read in place and the decoded option map disagree on the chunk")
            }
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

/// The option map of a frame whose shape says for sure that its last element is
/// the option: Message mode with four elements, PackedForward with three.
/// (Forward mode with three has an array second, as has Message mode with
/// Fluent Bit's `[time, metadata]`, so those are left out.)
private func optionMap(of elements: [MessagePackValue]) -> [MessagePackPair]? {
    let isOption: Bool
    switch (elements.count, elements.count > 1 ? elements[1] : .nil) {
    case (4, _): isOption = true
    case (3, .string), (3, .binary): isOption = true
    default: isOption = false
    }
    guard isOption, case .map(let pairs) = elements[elements.count - 1] else { return nil }
    return pairs
}
