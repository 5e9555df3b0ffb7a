/// One decoded msgpack value.
///
/// Strings are kept as their raw bytes rather than `String`: Docker forwards
/// whatever bytes a container wrote (a 16 KiB split can even cut a UTF-8
/// character in two), and the shipper must pass them on unchanged and cheaply.
/// Text is only materialised where a filter needs it (regexes, templates).
public enum MessagePackValue: Hashable, Sendable {
    case `nil`
    case bool(Bool)
    case int(Int64)
    case uint(UInt64)
    case double(Double)
    case string([UInt8])
    case binary([UInt8])
    case array([MessagePackValue])
    case map([MessagePackPair])
    case ext(type: Int8, data: [UInt8])

    /// A string value from Swift text.
    public static func string(_ text: String) -> MessagePackValue {
        .string(Array(text.utf8))
    }

    /// The bytes of a string value, or `nil` for any other kind.
    public var stringBytes: [UInt8]? {
        if case .string(let bytes) = self { return bytes }
        return nil
    }

    /// The bytes of a string or binary value (salts and nonces come as either), or `nil` for any other kind.
    public var rawBytes: [UInt8]? {
        switch self {
        case .string(let bytes), .binary(let bytes): return bytes
        default: return nil
        }
    }

    /// The value as text: strings decode as UTF-8 (invalid bytes become U+FFFD),
    /// numbers and booleans print as in JSON, anything else is `nil`.
    public var textValue: String? {
        switch self {
        case .string(let bytes): return String(decoding: bytes, as: UTF8.self)
        case .int(let v): return String(v)
        case .uint(let v): return String(v)
        case .double(let v): return String(v)
        case .bool(let v): return v ? "true" : "false"
        default: return nil
        }
    }
}

/// A key/value pair of a msgpack map, in wire order.
public struct MessagePackPair: Hashable, Sendable {
    public var key: MessagePackValue
    public var value: MessagePackValue

    public init(key: MessagePackValue, value: MessagePackValue) {
        self.key = key
        self.value = value
    }
}
