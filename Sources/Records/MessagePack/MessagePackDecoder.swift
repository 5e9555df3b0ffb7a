/// Decodes msgpack values from a byte buffer.
///
/// Every declared length is checked against the bytes present and against
/// `maxLength` before anything is allocated, and nesting is bounded, so a
/// hostile peer cannot make the decoder allocate or recurse without limit.
/// It works on an `UnsafeBufferPointer` so the hot path does no bridging
/// through Foundation.
public struct MessagePackDecoder: Sendable {
    /// The largest string, binary, array or map length accepted.
    public var maxLength: Int
    /// The deepest nesting of arrays and maps accepted.
    public var maxDepth: Int

    public init(maxLength: Int = 64 << 20, maxDepth: Int = 64) {
        self.maxLength = maxLength
        self.maxDepth = maxDepth
    }

    /// Decodes the value that starts at `offset`; on return `offset` is just past it.
    public func decode(_ bytes: UnsafeBufferPointer<UInt8>, offset: inout Int) throws -> MessagePackValue {
        var reader = MessagePackReader(bytes: bytes, offset: offset, maxLength: maxLength)
        let value = try reader.value(depth: 0, maxDepth: maxDepth)
        offset = reader.offset
        return value
    }

    /// Decodes one whole value from `bytes`, which must hold nothing else.
    public func decode(_ bytes: [UInt8]) throws -> MessagePackValue {
        try bytes.withUnsafeBufferPointer { buffer in
            var offset = 0
            let value = try decode(buffer, offset: &offset)
            return value
        }
    }
}
