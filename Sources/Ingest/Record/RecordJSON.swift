/// Renders records as compact JSON, keys in record order.
///
/// Writes straight from the msgpack byte strings into one output buffer, with
/// no intermediate `String` or Foundation objects. Bytes that are not valid
/// UTF-8 are replaced with U+FFFD, since JSON (and CloudWatch) require UTF-8.
public enum RecordJSON {
    public static func encode(_ record: LogRecord) -> [UInt8] {
        var out: [UInt8] = []
        out.reserveCapacity(estimatedSize(record.fields))
        appendObject(record.fields, to: &out)
        return out
    }

    public static func append(_ value: MessagePackValue, to out: inout [UInt8]) {
        switch value {
        case .nil: out.append(contentsOf: "null".utf8)
        case .bool(let v): out.append(contentsOf: (v ? "true" : "false").utf8)
        case .int(let v): out.append(contentsOf: String(v).utf8)
        case .uint(let v): out.append(contentsOf: String(v).utf8)
        case .double(let v):
            if v.isFinite { out.append(contentsOf: String(v).utf8) } else { out.append(contentsOf: "null".utf8) }
        case .string(let bytes), .binary(let bytes): appendString(bytes, to: &out)
        case .array(let elements):
            out.append(UInt8(ascii: "["))
            for (i, element) in elements.enumerated() {
                if i > 0 { out.append(UInt8(ascii: ",")) }
                append(element, to: &out)
            }
            out.append(UInt8(ascii: "]"))
        case .map(let pairs): appendObject(pairs, to: &out)
        case .ext(_, let data): appendString(data, to: &out)
        }
    }

    /// About the encoded size, so the output buffer is allocated once for usual records.
    private static func estimatedSize(_ pairs: [MessagePackPair]) -> Int {
        var size = 2
        for pair in pairs {
            size += 6
            if case .string(let key) = pair.key { size += key.count }
            switch pair.value {
            case .string(let bytes), .binary(let bytes): size += bytes.count + bytes.count / 16
            default: size += 24
            }
        }
        return size
    }

    private static func appendObject(_ pairs: [MessagePackPair], to out: inout [UInt8]) {
        out.append(UInt8(ascii: "{"))
        for (i, pair) in pairs.enumerated() {
            if i > 0 { out.append(UInt8(ascii: ",")) }
            if let key = pair.key.stringBytes {
                appendString(key, to: &out)
            } else {
                var keyJSON: [UInt8] = []
                append(pair.key, to: &keyJSON)
                appendString(keyJSON, to: &out)
            }
            out.append(UInt8(ascii: ":"))
            append(pair.value, to: &out)
        }
        out.append(UInt8(ascii: "}"))
    }

    private static let hex: [UInt8] = Array("0123456789abcdef".utf8)

    /// Appends `bytes` as a JSON string literal.
    public static func appendString(_ bytes: [UInt8], to out: inout [UInt8]) {
        bytes.withUnsafeBufferPointer { appendString($0, to: &out) }
    }

    /// Appends `bytes` as a JSON string literal. Text that needs no escaping
    /// and is valid UTF-8 (nearly every log line) is copied in one go.
    public static func appendString(_ bytes: UnsafeBufferPointer<UInt8>, to out: inout [UInt8]) {
        out.append(UInt8(ascii: "\""))
        var needsEscape = false
        var hasNonASCII = false
        for b in bytes {
            if b < 0x20 || b == 0x22 || b == 0x5c { needsEscape = true } else if b >= 0x80 { hasNonASCII = true }
        }
        if !needsEscape && (!hasNonASCII || isValidUTF8(bytes)) {
            out.append(contentsOf: bytes)
        } else {
            appendEscaped(bytes, to: &out)
        }
        out.append(UInt8(ascii: "\""))
    }

    /// The slow path: escapes, and U+FFFD for bytes that are not UTF-8.
    private static func appendEscaped(_ bytes: UnsafeBufferPointer<UInt8>, to out: inout [UInt8]) {
        for scalar in String(decoding: bytes, as: UTF8.self).unicodeScalars {
            switch scalar {
            case "\"": out.append(contentsOf: "\\\"".utf8)
            case "\\": out.append(contentsOf: "\\\\".utf8)
            case "\n": out.append(contentsOf: "\\n".utf8)
            case "\r": out.append(contentsOf: "\\r".utf8)
            case "\t": out.append(contentsOf: "\\t".utf8)
            case _ where scalar.value < 0x20:
                out.append(contentsOf: "\\u00".utf8)
                out.append(hex[Int(scalar.value >> 4)])
                out.append(hex[Int(scalar.value & 0xf)])
            default:
                out.append(contentsOf: scalar.utf8)
            }
        }
    }

    /// Whether `bytes` is well-formed UTF-8 (no overlongs, surrogates or values past U+10FFFF).
    static func isValidUTF8(_ bytes: UnsafeBufferPointer<UInt8>) -> Bool {
        var i = 0
        let n = bytes.count
        while i < n {
            let b = bytes[i]
            if b < 0x80 { i += 1; continue }
            let length: Int
            var low: UInt8 = 0x80
            var high: UInt8 = 0xbf
            switch b {
            case 0xc2...0xdf: length = 2
            case 0xe0: length = 3; low = 0xa0
            case 0xe1...0xec, 0xee...0xef: length = 3
            case 0xed: length = 3; high = 0x9f
            case 0xf0: length = 4; low = 0x90
            case 0xf1...0xf3: length = 4
            case 0xf4: length = 4; high = 0x8f
            default: return false
            }
            guard i + length <= n, (low...high).contains(bytes[i + 1]) else { return false }
            for k in 2..<max(2, length) where !(0x80...0xbf).contains(bytes[i + k]) { return false }
            i += length
        }
        return true
    }
}
