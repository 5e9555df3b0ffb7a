/// Why a byte sequence is not an acceptable msgpack value.
///
/// `truncated` is special: on a stream it only means "wait for more bytes";
/// every other case is final for the frame that contains it.
public enum MessagePackError: Error, Equatable, CustomStringConvertible {
    /// The value continues past the end of the bytes present.
    case truncated(offset: Int)
    /// The byte at `offset` starts no msgpack value (0xc1 is never used).
    case invalidByte(UInt8, offset: Int)
    /// A declared length or element count exceeds the configured limit.
    case lengthOverLimit(declared: UInt64, limit: Int, offset: Int)
    /// Arrays and maps are nested deeper than the limit.
    case nestingTooDeep(limit: Int, offset: Int)

    public var description: String {
        switch self {
        case .truncated(let offset):
            return "msgpack value truncated at byte \(offset)"
        case .invalidByte(let byte, let offset):
            return "invalid msgpack type byte 0x\(String(byte, radix: 16)) at byte \(offset)"
        case .lengthOverLimit(let declared, let limit, let offset):
            return "msgpack length \(declared) at byte \(offset) exceeds the limit of \(limit)"
        case .nestingTooDeep(let limit, let offset):
            return "msgpack nesting deeper than \(limit) levels at byte \(offset)"
        }
    }
}
