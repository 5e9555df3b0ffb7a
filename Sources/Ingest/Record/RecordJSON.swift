/// Renders records as compact JSON, keys in record order.
///
/// Writes straight from the msgpack byte strings into one output buffer, with
/// no intermediate `String` or Foundation objects. Bytes that are not valid
/// UTF-8 are replaced with U+FFFD, since JSON (and CloudWatch) require UTF-8.
public enum RecordJSON {
    public static func encode(_ record: LogRecord) -> [UInt8] {
        var out: [UInt8] = []
        out.reserveCapacity(256)
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
    public static func appendString<C: Collection>(_ bytes: C, to out: inout [UInt8]) where C.Element == UInt8 {
        out.append(UInt8(ascii: "\""))
        var clean = true
        for b in bytes where b < 0x20 || b == 0x22 || b == 0x5c || b >= 0x80 {
            clean = false
            break
        }
        if clean {
            out.append(contentsOf: bytes)
        } else {
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
        out.append(UInt8(ascii: "\""))
    }
}
