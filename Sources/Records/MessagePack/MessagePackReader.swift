/// Walks msgpack bytes in place: the decoder's engine, and what the frame
/// parser and `LogRecord` use to find values without building them.
///
/// Every length it returns has been checked against `maxLength` and against
/// the bytes present.
struct MessagePackReader {
    let bytes: UnsafeBufferPointer<UInt8>
    var offset: Int
    let maxLength: Int

    init(bytes: UnsafeBufferPointer<UInt8>, offset: Int, maxLength: Int) {
        self.bytes = bytes
        self.offset = offset
        self.maxLength = maxLength
    }

    @inline(__always)
    mutating func byte() throws -> UInt8 {
        guard offset < bytes.count else { throw MessagePackError.truncated(offset: offset) }
        defer { offset += 1 }
        return bytes[offset]
    }

    @inline(__always)
    mutating func bigEndian(_ width: Int) throws -> UInt64 {
        guard bytes.count - offset >= width else { throw MessagePackError.truncated(offset: offset) }
        var result: UInt64 = 0
        for i in 0..<width { result = result << 8 | UInt64(bytes[offset + i]) }
        offset += width
        return result
    }

    /// Checks a declared length: within the limit, and (for payload bytes) present.
    @inline(__always)
    mutating func length(_ declared: UInt64, payloadBytes: Bool) throws -> Int {
        guard declared <= UInt64(maxLength) else {
            throw MessagePackError.lengthOverLimit(declared: declared, limit: maxLength, offset: offset)
        }
        let count = Int(declared)
        if payloadBytes {
            guard bytes.count - offset >= count else { throw MessagePackError.truncated(offset: offset) }
        } else if count > bytes.count - offset {
            // Every element takes at least one byte, so this many cannot be present.
            throw MessagePackError.truncated(offset: offset)
        }
        return count
    }

    /// Checks a declared string/binary length and steps over the payload; returns where it lies.
    @inline(__always)
    mutating func payload(_ declared: UInt64) throws -> Range<Int> {
        let count = try length(declared, payloadBytes: true)
        defer { offset += count }
        return offset..<offset + count
    }

    mutating func take(_ count: Int) -> [UInt8] {
        let slice = Array(UnsafeBufferPointer(rebasing: bytes[offset..<offset + count]))
        offset += count
        return slice
    }

    /// What a type byte announces.
    enum Header {
        case scalar(MessagePackValue)
        case string(UInt64)
        case binary(UInt64)
        case array(UInt64)
        case map(UInt64)
        case ext(UInt64, fixed: Bool)
        case float32, float64
        case unsigned(Int), signed(Int)
    }

    mutating func header() throws -> Header {
        let start = offset
        let b = try byte()
        switch b {
        case 0x00...0x7f: return .scalar(.int(Int64(b)))
        case 0x80...0x8f: return .map(UInt64(b & 0x0f))
        case 0x90...0x9f: return .array(UInt64(b & 0x0f))
        case 0xa0...0xbf: return .string(UInt64(b & 0x1f))
        case 0xc0: return .scalar(.nil)
        case 0xc2: return .scalar(.bool(false))
        case 0xc3: return .scalar(.bool(true))
        case 0xc4: return .binary(try bigEndian(1))
        case 0xc5: return .binary(try bigEndian(2))
        case 0xc6: return .binary(try bigEndian(4))
        case 0xc7: return .ext(try bigEndian(1), fixed: false)
        case 0xc8: return .ext(try bigEndian(2), fixed: false)
        case 0xc9: return .ext(try bigEndian(4), fixed: false)
        case 0xca: return .float32
        case 0xcb: return .float64
        case 0xcc: return .unsigned(1)
        case 0xcd: return .unsigned(2)
        case 0xce: return .unsigned(4)
        case 0xcf: return .unsigned(8)
        case 0xd0: return .signed(1)
        case 0xd1: return .signed(2)
        case 0xd2: return .signed(4)
        case 0xd3: return .signed(8)
        case 0xd4: return .ext(1, fixed: true)
        case 0xd5: return .ext(2, fixed: true)
        case 0xd6: return .ext(4, fixed: true)
        case 0xd7: return .ext(8, fixed: true)
        case 0xd8: return .ext(16, fixed: true)
        case 0xd9: return .string(try bigEndian(1))
        case 0xda: return .string(try bigEndian(2))
        case 0xdb: return .string(try bigEndian(4))
        case 0xdc: return .array(try bigEndian(2))
        case 0xdd: return .array(try bigEndian(4))
        case 0xde: return .map(try bigEndian(2))
        case 0xdf: return .map(try bigEndian(4))
        case 0xe0...0xff: return .scalar(.int(Int64(Int8(bitPattern: b))))
        default: throw MessagePackError.invalidByte(b, offset: start)
        }
    }

    mutating func value(depth: Int, maxDepth: Int) throws -> MessagePackValue {
        switch try header() {
        case .scalar(let value):
            return value
        case .string(let declared):
            return .string(take(try length(declared, payloadBytes: true)))
        case .binary(let declared):
            return .binary(take(try length(declared, payloadBytes: true)))
        case .ext(let declared, _):
            let type = Int8(bitPattern: try byte())
            return .ext(type: type, data: take(try length(declared, payloadBytes: true)))
        case .float32:
            return .double(Double(Float(bitPattern: UInt32(try bigEndian(4)))))
        case .float64:
            return .double(Double(bitPattern: try bigEndian(8)))
        case .unsigned(let width):
            let v = try bigEndian(width)
            return v <= UInt64(Int64.max) ? .int(Int64(v)) : .uint(v)
        case .signed(let width):
            let raw = try bigEndian(width)
            let shift = UInt64(64 - width * 8)
            return .int(Int64(bitPattern: raw << shift) >> Int64(shift))
        case .array(let declared):
            guard depth < maxDepth else { throw MessagePackError.nestingTooDeep(limit: maxDepth, offset: offset) }
            let count = try length(declared, payloadBytes: false)
            var elements: [MessagePackValue] = []
            elements.reserveCapacity(count)
            for _ in 0..<count { elements.append(try value(depth: depth + 1, maxDepth: maxDepth)) }
            return .array(elements)
        case .map(let declared):
            guard depth < maxDepth else { throw MessagePackError.nestingTooDeep(limit: maxDepth, offset: offset) }
            let count = try length(declared, payloadBytes: false)
            var pairs: [MessagePackPair] = []
            pairs.reserveCapacity(count)
            for _ in 0..<count {
                let key = try value(depth: depth + 1, maxDepth: maxDepth)
                let item = try value(depth: depth + 1, maxDepth: maxDepth)
                pairs.append(MessagePackPair(key: key, value: item))
            }
            return .map(pairs)
        }
    }

    mutating func skip(depth: Int, maxDepth: Int) throws {
        switch try header() {
        case .scalar:
            return
        case .string(let declared), .binary(let declared):
            offset += try length(declared, payloadBytes: true)
        case .ext(let declared, _):
            _ = try byte()
            offset += try length(declared, payloadBytes: true)
        case .float32: _ = try bigEndian(4)
        case .float64: _ = try bigEndian(8)
        case .unsigned(let width), .signed(let width): _ = try bigEndian(width)
        case .array(let declared):
            guard depth < maxDepth else { throw MessagePackError.nestingTooDeep(limit: maxDepth, offset: offset) }
            let count = try length(declared, payloadBytes: false)
            for _ in 0..<count { try skip(depth: depth + 1, maxDepth: maxDepth) }
        case .map(let declared):
            guard depth < maxDepth else { throw MessagePackError.nestingTooDeep(limit: maxDepth, offset: offset) }
            let count = try length(declared, payloadBytes: false)
            for _ in 0..<count {
                try skip(depth: depth + 1, maxDepth: maxDepth)
                try skip(depth: depth + 1, maxDepth: maxDepth)
            }
        }
    }
}
