/// Appends msgpack encodings to a byte array.
///
/// The server needs only a few shapes on the way out (ack maps, handshake
/// arrays), and tests use it to build frames, so it stays small.
public struct MessagePackEncoder {
    public private(set) var bytes: [UInt8] = []

    public init() {}

    /// An encoder whose buffer holds `capacity` bytes before it grows.
    public init(capacity: Int) {
        bytes.reserveCapacity(capacity)
    }

    /// The encoding of one value.
    public static func encoded(_ value: MessagePackValue) -> [UInt8] {
        var encoder = MessagePackEncoder()
        encoder.encode(value)
        return encoder.bytes
    }

    public mutating func encode(_ value: MessagePackValue) {
        switch value {
        case .nil: bytes.append(0xc0)
        case .bool(let v): bytes.append(v ? 0xc3 : 0xc2)
        case .int(let v):
            if v >= 0 { encodeUnsigned(UInt64(v)) } else { encodeNegative(v) }
        case .uint(let v): encodeUnsigned(v)
        case .double(let v):
            bytes.append(0xcb)
            appendBigEndian(v.bitPattern, width: 8)
        case .string(let s):
            s.withUnsafeBufferPointer { encodeString($0) }
        case .binary(let b):
            header(b.count, 0xc4, 0xc5, 0xc6)
            bytes.append(contentsOf: b)
        case .array(let elements):
            encodeArrayHeader(count: elements.count)
            for element in elements { encode(element) }
        case .map(let pairs):
            encodeMapHeader(count: pairs.count)
            for pair in pairs {
                encode(pair.key)
                encode(pair.value)
            }
        case .ext(let type, let data):
            let fixed: [Int: UInt8] = [1: 0xd4, 2: 0xd5, 4: 0xd6, 8: 0xd7, 16: 0xd8]
            if let code = fixed[data.count] { bytes.append(code) } else { header(data.count, 0xc7, 0xc8, 0xc9) }
            bytes.append(UInt8(bitPattern: type))
            bytes.append(contentsOf: data)
        }
    }

    /// Starts an array of `count` elements; the caller encodes them next.
    public mutating func encodeArrayHeader(count: Int) {
        if count < 16 { bytes.append(0x90 | UInt8(count)) } else { header(count, nil, 0xdc, 0xdd) }
    }

    /// Starts a map of `count` pairs; the caller encodes them next.
    public mutating func encodeMapHeader(count: Int) {
        if count < 16 { bytes.append(0x80 | UInt8(count)) } else { header(count, nil, 0xde, 0xdf) }
    }

    /// Appends a string of these UTF-8 bytes.
    public mutating func encodeString(_ utf8: UnsafeBufferPointer<UInt8>) {
        if utf8.count < 32 { bytes.append(0xa0 | UInt8(utf8.count)) } else { header(utf8.count, 0xd9, 0xda, 0xdb) }
        bytes.append(contentsOf: utf8)
    }

    /// Appends bytes that are already a msgpack encoding.
    public mutating func appendEncoded(_ encoded: UnsafeBufferPointer<UInt8>) {
        bytes.append(contentsOf: encoded)
    }

    private mutating func encodeUnsigned(_ v: UInt64) {
        switch v {
        case 0..<0x80: bytes.append(UInt8(v))
        case 0..<0x100: bytes.append(0xcc); appendBigEndian(v, width: 1)
        case 0..<0x10000: bytes.append(0xcd); appendBigEndian(v, width: 2)
        case 0..<0x1_0000_0000: bytes.append(0xce); appendBigEndian(v, width: 4)
        default: bytes.append(0xcf); appendBigEndian(v, width: 8)
        }
    }

    private mutating func encodeNegative(_ v: Int64) {
        if v >= -32 {
            bytes.append(UInt8(bitPattern: Int8(v)))
        } else {
            bytes.append(0xd3)
            appendBigEndian(UInt64(bitPattern: v), width: 8)
        }
    }

    private mutating func header(_ count: Int, _ one: UInt8?, _ two: UInt8, _ four: UInt8) {
        if let one, count < 0x100 {
            bytes.append(one); appendBigEndian(UInt64(count), width: 1)
        } else if count < 0x10000 {
            bytes.append(two); appendBigEndian(UInt64(count), width: 2)
        } else {
            bytes.append(four); appendBigEndian(UInt64(count), width: 4)
        }
    }

    private mutating func appendBigEndian(_ v: UInt64, width: Int) {
        for i in stride(from: width - 1, through: 0, by: -1) { bytes.append(UInt8(truncatingIfNeeded: v >> (UInt64(i) * 8))) }
    }
}
