/// Renders records as compact JSON, keys in record order.
///
/// Writes straight from the msgpack byte strings into one output buffer, with
/// no intermediate `String` or Foundation objects. Bytes that are not valid
/// UTF-8 are replaced with U+FFFD, since JSON (and CloudWatch) require UTF-8.
public enum RecordJSON {
    public static func encode(_ record: LogRecord) -> [UInt8] {
        var out: [UInt8] = []
        encode(record, into: &out)
        return out
    }

    /// Appends the record's JSON to `out`.
    public static func encode(_ record: LogRecord, into out: inout [UInt8]) {
        record.withFields { bytes, fields in
            out.reserveCapacity(out.count + estimatedSize(fields))
            out.append(UInt8(ascii: "{"))
            for (i, field) in fields.enumerated() {
                if i > 0 { out.append(UInt8(ascii: ",")) }
                appendString(UnsafeBufferPointer(rebasing: bytes[field.key]), to: &out)
                out.append(UInt8(ascii: ":"))
                appendValue(bytes, at: field.value, to: &out)
            }
            out.append(UInt8(ascii: "}"))
        }
    }

    /// Appends the JSON of field `index`'s value alone to `out`.
    public static func encodeValue(ofField index: Int, in record: LogRecord, into out: inout [UInt8]) {
        record.withFields { bytes, fields in
            appendValue(bytes, at: fields[index].value, to: &out)
        }
    }

    /// About the encoded size, so the output buffer is allocated once for usual records.
    private static func estimatedSize(_ fields: [LogRecord.Field]) -> Int {
        fields.reduce(2) { size, field in size + 6 + field.key.count + field.value.count + field.value.count / 16 }
    }

    /// Renders the msgpack value encoded at `range` (already validated by the frame parser).
    private static func appendValue(_ bytes: UnsafeBufferPointer<UInt8>, at range: Range<Int>, to out: inout [UInt8]) {
        var reader = MessagePackReader(bytes: UnsafeBufferPointer(rebasing: bytes[..<range.upperBound]), offset: range.lowerBound, maxLength: .max)
        if (try? appendValue(&reader, to: &out)) == nil { out.append(contentsOf: "null".utf8) }
    }

    /// Renders one value. `inKey` is true while writing the JSON of a key that
    /// is not a string: that text is escaped once, as the key's string, so a
    /// non-string key nested inside it is written as bare JSON rather than
    /// escaped again. Escaping it at every level would double the output per
    /// level: 64 levels of maps keyed by maps, a few hundred bytes on the wire,
    /// would render to 2^32 bytes.
    private static func appendValue(_ reader: inout MessagePackReader, to out: inout [UInt8], inKey: Bool = false) throws {
        switch try reader.header() {
        case .scalar(let value):
            switch value {
            case .bool(let v): out.append(contentsOf: (v ? "true" : "false").utf8)
            case .int(let v): appendNumber(v, to: &out)
            default: out.append(contentsOf: "null".utf8)
            }
        case .string(let length), .binary(let length):
            appendString(UnsafeBufferPointer(rebasing: reader.bytes[try reader.payload(length)]), to: &out)
        case .ext(let length, _):
            _ = try reader.byte()
            appendString(UnsafeBufferPointer(rebasing: reader.bytes[try reader.payload(length)]), to: &out)
        case .float32:
            appendNumber(Double(Float(bitPattern: UInt32(try reader.bigEndian(4)))), to: &out)
        case .float64:
            appendNumber(Double(bitPattern: try reader.bigEndian(8)), to: &out)
        case .unsigned(let width):
            let v = try reader.bigEndian(width)
            out.append(contentsOf: String(v).utf8)
        case .signed(let width):
            let raw = try reader.bigEndian(width)
            let shift = UInt64(64 - width * 8)
            appendNumber(Int64(bitPattern: raw << shift) >> Int64(shift), to: &out)
        case .array(let declared):
            out.append(UInt8(ascii: "["))
            for i in 0..<declared {
                if i > 0 { out.append(UInt8(ascii: ",")) }
                try appendValue(&reader, to: &out, inKey: inKey)
            }
            out.append(UInt8(ascii: "]"))
        case .map(let declared):
            out.append(UInt8(ascii: "{"))
            for i in 0..<declared {
                if i > 0 { out.append(UInt8(ascii: ",")) }
                let keyStart = reader.offset
                if case .string(let length) = try reader.header() {
                    appendString(UnsafeBufferPointer(rebasing: reader.bytes[try reader.payload(length)]), to: &out)
                } else if inKey {
                    reader.offset = keyStart
                    try appendValue(&reader, to: &out, inKey: true)
                } else {
                    // A key that is not a string becomes the string of its JSON.
                    reader.offset = keyStart
                    var keyJSON: [UInt8] = []
                    try appendValue(&reader, to: &keyJSON, inKey: true)
                    appendString(keyJSON, to: &out)
                }
                out.append(UInt8(ascii: ":"))
                try appendValue(&reader, to: &out, inKey: inKey)
            }
            out.append(UInt8(ascii: "}"))
        }
    }

    private static func appendNumber(_ v: Int64, to out: inout [UInt8]) {
        out.append(contentsOf: String(v).utf8)
    }

    private static func appendNumber(_ v: Double, to out: inout [UInt8]) {
        if v.isFinite { out.append(contentsOf: String(v).utf8) } else { out.append(contentsOf: "null".utf8) }
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
        for b in UnsafeBufferPointer(rebasing: bytes[plainASCIIPrefix(bytes)...]) {
            if b < 0x20 || b == 0x22 || b == 0x5c { needsEscape = true } else if b >= 0x80 { hasNonASCII = true }
        }
        let isUTF8 = !hasNonASCII || isValidUTF8(bytes)
        if !needsEscape && isUTF8 {
            out.append(contentsOf: bytes)
        } else if isUTF8 {
            appendEscaped(bytes, to: &out)
        } else {
            appendRepairingUTF8(bytes, to: &out)
        }
        out.append(UInt8(ascii: "\""))
    }

    /// Escapes valid UTF-8 a byte at a time into scratch memory, then appends it
    /// in one go: a message that is itself JSON (every Docker line sent as JSON)
    /// has quotes throughout, and going through Unicode scalars, or appending
    /// the short runs between its quotes one by one, made rendering request
    /// bodies a visible part of delivery. The bytes go `escapeSlice` at a time,
    /// so the scratch stays a few KiB however long the message: six times a
    /// multi-MiB record, on every event loop at once, is memory no budget sees.
    private static func appendEscaped(_ bytes: UnsafeBufferPointer<UInt8>, to out: inout [UInt8]) {
        // The longest escape, \u00XX, is six bytes for one.
        withUnsafeTemporaryAllocation(of: UInt8.self, capacity: max(min(bytes.count, escapeSlice), 1) * 6) { scratch in
            var start = 0
            repeat {
                let end = min(start + escapeSlice, bytes.count)
                var count = 0
                func put(_ byte: UInt8) {
                    scratch[count] = byte
                    count += 1
                }
                for byte in UnsafeBufferPointer(rebasing: bytes[start..<end]) {
                    switch byte {
                    case 0x22, 0x5c: put(0x5c); put(byte)
                    case 0x0a: put(0x5c); put(UInt8(ascii: "n"))
                    case 0x0d: put(0x5c); put(UInt8(ascii: "r"))
                    case 0x09: put(0x5c); put(UInt8(ascii: "t"))
                    case ..<0x20:
                        put(0x5c); put(UInt8(ascii: "u")); put(UInt8(ascii: "0")); put(UInt8(ascii: "0"))
                        put(hex[Int(byte >> 4)]); put(hex[Int(byte & 0xf)])
                    default: put(byte)
                    }
                }
                out.append(contentsOf: UnsafeBufferPointer(rebasing: scratch[..<count]))
                start = end
            } while start < bytes.count
        }
    }

    /// How many bytes `appendEscaped` escapes into its scratch at a time.
    static let escapeSlice = 4096

    /// The slow path, for bytes that are not UTF-8: each bad sequence becomes U+FFFD.
    private static func appendRepairingUTF8(_ bytes: UnsafeBufferPointer<UInt8>, to out: inout [UInt8]) {
        for scalar in String(decoding: bytes, as: UTF8.self).unicodeScalars {
            if scalar.value < 0x20 || scalar == "\"" || scalar == "\\" {
                appendEscape(of: UInt8(scalar.value), to: &out)
            } else {
                out.append(contentsOf: scalar.utf8)
            }
        }
    }

    /// The JSON escape of a control character, a quote or a backslash.
    private static func appendEscape(of byte: UInt8, to out: inout [UInt8]) {
        switch byte {
        case 0x22: out.append(contentsOf: "\\\"".utf8)
        case 0x5c: out.append(contentsOf: "\\\\".utf8)
        case 0x0a: out.append(contentsOf: "\\n".utf8)
        case 0x0d: out.append(contentsOf: "\\r".utf8)
        case 0x09: out.append(contentsOf: "\\t".utf8)
        default:
            out.append(contentsOf: "\\u00".utf8)
            out.append(hex[Int(byte >> 4)])
            out.append(hex[Int(byte & 0xf)])
        }
    }

    /// How many leading bytes, in whole 8-byte words, are ASCII that JSON takes
    /// as is (no control character, quote or backslash): checked a word at a
    /// time, since that is nearly every byte of a log line.
    static func plainASCIIPrefix(_ bytes: UnsafeBufferPointer<UInt8>) -> Int {
        guard let base = bytes.baseAddress else { return 0 }
        let ones: UInt64 = 0x0101_0101_0101_0101
        let highBits: UInt64 = 0x8080_8080_8080_8080
        /// High bit set in each byte of `word` that is below `limit` (limit <= 0x80).
        func below(_ word: UInt64, _ limit: UInt64) -> UInt64 { (word &- ones &* limit) & ~word & highBits }
        var offset = 0
        while offset + 8 <= bytes.count {
            let word = UInt64(littleEndian: UnsafeRawPointer(base + offset).loadUnaligned(as: UInt64.self))
            let special = (word & highBits) | below(word, 0x20) | below(word ^ (ones &* 0x22), 1) | below(word ^ (ones &* 0x5c), 1)
            if special != 0 { break }
            offset += 8
        }
        return offset
    }

    /// Whether `bytes` is well-formed UTF-8 (no overlongs, surrogates or values past U+10FFFF).
    /// Every key of every record comes here: runs of ASCII, nearly all of it, go a word at a time.
    static func isValidUTF8(_ bytes: UnsafeBufferPointer<UInt8>) -> Bool {
        guard let base = bytes.baseAddress else { return true }
        var i = 0
        let n = bytes.count
        while i < n {
            if i + 8 <= n, UnsafeRawPointer(base + i).loadUnaligned(as: UInt64.self) & 0x8080_8080_8080_8080 == 0 {
                i += 8
                continue
            }
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
