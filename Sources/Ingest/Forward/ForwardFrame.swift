/// Why a well-formed msgpack value is not an acceptable Forward protocol frame.
public enum ForwardFrameError: Error, Equatable, CustomStringConvertible {
    case notAnArray
    case wrongElementCount(Int)
    case tagNotAString
    case invalidTime(String)
    case recordNotAMap(entry: Int)
    case recordKeyNotAString(entry: Int)
    case entryNotATimeRecordPair(entry: Int)
    case optionNotAMap
    case sizeMismatch(declared: Int, actual: Int)
    case unsupportedCompression(String)
    case compressedPayload(GzipError)
    case packedEntries(MessagePackError)

    public var description: String {
        switch self {
        case .notAnArray: return "a frame must be a msgpack array"
        case .wrongElementCount(let n): return "a frame must have 2 to 4 elements, this one has \(n)"
        case .tagNotAString: return "the tag must be a UTF-8 string"
        case .invalidTime(let what): return "invalid event time: \(what)"
        case .recordNotAMap(let i): return "entry \(i): the record must be a map"
        case .recordKeyNotAString(let i): return "entry \(i): record keys must be UTF-8 strings"
        case .entryNotATimeRecordPair(let i): return "entry \(i) must be a [time, record] array"
        case .optionNotAMap: return "the option element must be a map"
        case .sizeMismatch(let declared, let actual): return "option.size says \(declared) events, the frame has \(actual)"
        case .unsupportedCompression(let kind): return "unsupported option.compressed \"\(kind)\""
        case .compressedPayload(let error): return "compressed entries: \(error)"
        case .packedEntries(let error): return "packed entries: \(error)"
        }
    }
}

/// One Forward protocol frame, whatever its mode, as a list of events.
///
/// The four modes (Message, Forward, PackedForward, CompressedPackedForward)
/// differ only in how the events are laid out; the rest of the pipeline sees
/// the same thing for all of them.
public struct ForwardFrame: Sendable {
    public var tag: String
    public var entries: [(time: EventTime, record: LogRecord)]
    /// `option.chunk`: when present the client waits for `{"ack": chunk}`.
    public var chunk: MessagePackValue?

    /// Limits applied while interpreting a frame.
    public struct Limits: Sendable {
        /// The largest inflated size of a CompressedPackedForward payload.
        public var maxInflatedBytes: Int
        public var decoder: MessagePackDecoder

        public init(maxInflatedBytes: Int, decoder: MessagePackDecoder) {
            self.maxInflatedBytes = maxInflatedBytes
            self.decoder = decoder
        }
    }

    public init(tag: String, entries: [(time: EventTime, record: LogRecord)], chunk: MessagePackValue? = nil) {
        self.tag = tag
        self.entries = entries
        self.chunk = chunk
    }

    /// Interprets a decoded msgpack value as a frame.
    public init(_ value: MessagePackValue, limits: Limits) throws {
        guard case .array(let elements) = value else { throw ForwardFrameError.notAnArray }
        guard (2...4).contains(elements.count) else { throw ForwardFrameError.wrongElementCount(elements.count) }
        guard let tagBytes = elements[0].stringBytes, let tag = String(validating: tagBytes, as: UTF8.self) else {
            throw ForwardFrameError.tagNotAString
        }
        self.tag = tag

        switch elements[1] {
        case .array(let entryValues):
            // Forward mode: [tag, [[time, record], ...], option?]
            guard elements.count <= 3 else { throw ForwardFrameError.wrongElementCount(elements.count) }
            let options = try Self.options(elements.count == 3 ? elements[2] : nil)
            self.chunk = options.chunk
            self.entries = try entryValues.enumerated().map { try Self.entry($1, index: $0) }
            try Self.check(options, compressionAllowed: false, count: entries.count)
        case .binary(let payload), .string(let payload):
            // PackedForward or CompressedPackedForward: [tag, bytes, option?]
            guard elements.count <= 3 else { throw ForwardFrameError.wrongElementCount(elements.count) }
            let options = try Self.options(elements.count == 3 ? elements[2] : nil)
            self.chunk = options.chunk
            var packed = payload
            if options.compressed == "gzip" {
                do {
                    packed = try GzipInflater.inflate(payload, limit: limits.maxInflatedBytes)
                } catch let error as GzipError {
                    throw ForwardFrameError.compressedPayload(error)
                }
            }
            self.entries = try Self.packedEntries(packed, decoder: limits.decoder)
            try Self.check(options, compressionAllowed: true, count: entries.count)
        default:
            // Message mode: [tag, time, record, option?]
            guard elements.count >= 3 else { throw ForwardFrameError.wrongElementCount(elements.count) }
            let options = try Self.options(elements.count == 4 ? elements[3] : nil)
            self.chunk = options.chunk
            self.entries = [(try Self.time(elements[1]), try Self.record(elements[2], index: 0))]
            try Self.check(options, compressionAllowed: false, count: 1)
        }
    }

    private struct Options {
        var chunk: MessagePackValue?
        var size: Int?
        var compressed: String?
    }

    private static func options(_ value: MessagePackValue?) throws -> Options {
        guard let value else { return Options() }
        if case .nil = value { return Options() }
        guard case .map(let pairs) = value else { throw ForwardFrameError.optionNotAMap }
        var options = Options()
        for pair in pairs {
            switch pair.key.textValue {
            case "chunk": options.chunk = pair.value
            case "size":
                switch pair.value {
                case .int(let n): options.size = Int(clamping: n)
                case .uint(let n): options.size = Int(clamping: n)
                default: break
                }
            case "compressed": options.compressed = pair.value.textValue
            default: break
            }
        }
        return options
    }

    private static func check(_ options: Options, compressionAllowed: Bool, count: Int) throws {
        if let compressed = options.compressed, compressed != "text" {
            guard compressionAllowed, compressed == "gzip" else { throw ForwardFrameError.unsupportedCompression(compressed) }
        }
        if let size = options.size, size != count {
            throw ForwardFrameError.sizeMismatch(declared: size, actual: count)
        }
    }

    private static func packedEntries(_ bytes: [UInt8], decoder: MessagePackDecoder) throws -> [(time: EventTime, record: LogRecord)] {
        var result: [(time: EventTime, record: LogRecord)] = []
        try bytes.withUnsafeBufferPointer { buffer in
            var offset = 0
            while offset < buffer.count {
                let value: MessagePackValue
                do {
                    value = try decoder.decode(buffer, offset: &offset)
                } catch let error as MessagePackError {
                    throw ForwardFrameError.packedEntries(error)
                }
                result.append(try entry(value, index: result.count))
            }
        }
        return result
    }

    private static func entry(_ value: MessagePackValue, index: Int) throws -> (time: EventTime, record: LogRecord) {
        guard case .array(let pair) = value, pair.count == 2 else { throw ForwardFrameError.entryNotATimeRecordPair(entry: index) }
        return (try time(pair[0]), try record(pair[1], index: index))
    }

    static func time(_ value: MessagePackValue) throws -> EventTime {
        switch value {
        case .int(let seconds):
            return EventTime(seconds: seconds)
        case .uint(let seconds):
            guard seconds <= UInt64(Int64.max) else { throw ForwardFrameError.invalidTime("\(seconds) is out of range") }
            return EventTime(seconds: Int64(seconds))
        case .double(let seconds):
            guard seconds.isFinite, abs(seconds) < 1e11 else { throw ForwardFrameError.invalidTime("\(seconds) is out of range") }
            let whole = seconds.rounded(.down)
            return EventTime(seconds: Int64(whole), nanoseconds: UInt32(min(999_999_999, ((seconds - whole) * 1e9).rounded())))
        case .ext(type: 0, let data) where data.count == 8:
            let seconds = data[0..<4].reduce(UInt32(0)) { $0 << 8 | UInt32($1) }
            let nanos = data[4..<8].reduce(UInt32(0)) { $0 << 8 | UInt32($1) }
            guard nanos < 1_000_000_000 else { throw ForwardFrameError.invalidTime("EventTime nanoseconds \(nanos) >= 1e9") }
            return EventTime(seconds: Int64(seconds), nanoseconds: nanos)
        case .ext(let type, let data):
            throw ForwardFrameError.invalidTime("ext type \(type) with \(data.count) bytes is not EventTime")
        default:
            throw ForwardFrameError.invalidTime("expected an integer, float or EventTime")
        }
    }

    private static func record(_ value: MessagePackValue, index: Int) throws -> LogRecord {
        guard case .map(let pairs) = value else { throw ForwardFrameError.recordNotAMap(entry: index) }
        for pair in pairs {
            guard case .string(let key) = pair.key, key.withUnsafeBufferPointer(RecordJSON.isValidUTF8) else {
                throw ForwardFrameError.recordKeyNotAString(entry: index)
            }
        }
        return LogRecord(fields: pairs)
    }
}
