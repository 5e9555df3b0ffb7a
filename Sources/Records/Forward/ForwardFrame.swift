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
    case compressedPayload(InflateError)
    case packedEntries(MessagePackError)
    case tooManyEntries(limit: Int)
    case recordTooLarge(entry: Int, limit: Int)

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
        case .tooManyEntries(let limit): return "more than Max_Entries_Per_Frame (\(limit)) entries in one frame"
        case .recordTooLarge(let entry, let limit): return "entry \(entry): a record larger than Max_Record_Size (\(limit) bytes)"
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
    ///
    /// Entries cost memory beyond their bytes (each record is its own buffer
    /// with room for edits, plus its field list): 5,930 bytes of gzip can hold
    /// two million empty entries and cost hundreds of MiB. So the entries of a
    /// frame are counted, and so are the bytes of each record, before any is kept.
    public struct Limits: Sendable {
        /// The largest inflated size of a CompressedPackedForward payload.
        public var maxInflatedBytes: Int
        /// `Max_Entries_Per_Frame`.
        public var maxEntries: Int
        /// `Max_Record_Size`: the msgpack bytes of one record.
        public var maxRecordBytes: Int
        public var decoder: MessagePackDecoder

        public static let defaultMaxEntries = 100_000

        public init(maxInflatedBytes: Int, maxEntries: Int = Limits.defaultMaxEntries, maxRecordBytes: Int? = nil, decoder: MessagePackDecoder) {
            self.maxInflatedBytes = maxInflatedBytes
            self.maxEntries = maxEntries
            self.maxRecordBytes = maxRecordBytes ?? maxInflatedBytes
            self.decoder = decoder
        }
    }

    public init(tag: String, entries: [(time: EventTime, record: LogRecord)], chunk: MessagePackValue? = nil) {
        self.tag = tag
        self.entries = entries
        self.chunk = chunk
    }

    /// Parses one frame: `bytes` holds exactly the frame, as `MessagePackScanner` delimited it.
    ///
    /// Records are not decoded into values: each keeps its map's bytes and
    /// where its fields lie (see `LogRecord`), so a frame costs a few
    /// allocations per record whatever the number of fields.
    ///
    /// `claim` is told, before they are kept, of the bytes the frame comes to
    /// hold (inflated output, each record with its places), so a caller can
    /// bound what many frames hold at once; whatever it throws ends the parse.
    ///
    /// `previousTag` is the tag of the connection's last frame: a client sends
    /// the same tag frame after frame, and a frame whose tag bytes are those
    /// takes that string instead of validating and allocating a new one (3%
    /// of the event loops' time with one record per frame).
    public init(parsing bytes: UnsafeBufferPointer<UInt8>, limits: Limits, previousTag: String? = nil,
                claim: (Int) throws -> Void = { _ in }) throws {
        let maxDepth = limits.decoder.maxDepth
        var reader = MessagePackReader(bytes: bytes, offset: 0, maxLength: limits.decoder.maxLength)
        guard case .array(let declared) = try reader.header() else { throw ForwardFrameError.notAnArray }
        let count = try reader.length(declared, payloadBytes: false)
        guard (2...4).contains(count) else { throw ForwardFrameError.wrongElementCount(count) }
        guard case .string(let tagLength) = try reader.header() else { throw ForwardFrameError.tagNotAString }
        let tagBytes = UnsafeBufferPointer(rebasing: bytes[try reader.payload(tagLength)])
        if let previousTag, TagBytes.utf8(of: previousTag, equals: tagBytes) {
            self.tag = previousTag
        } else {
            guard let tag = String(validating: tagBytes, as: UTF8.self) else { throw ForwardFrameError.tagNotAString }
            self.tag = tag
        }

        let second = reader.offset
        switch try reader.header() {
        case .array(let declared) where try !Self.isTimeMetadataPair(&reader, declared: declared):
            // Forward mode: [tag, [[time, record], ...], option?]
            guard count <= 3 else { throw ForwardFrameError.wrongElementCount(count) }
            let entryCount = try reader.length(declared, payloadBytes: false)
            guard entryCount <= limits.maxEntries else { throw ForwardFrameError.tooManyEntries(limit: limits.maxEntries) }
            var entries: [(time: EventTime, record: LogRecord)] = []
            entries.reserveCapacity(entryCount)
            for index in 0..<entryCount {
                entries.append(try Self.entry(&reader, index: index, depth: 2, limits: limits, claim: claim))
            }
            self.entries = entries
            let options = try Self.options(&reader, present: count == 3, maxDepth: maxDepth)
            self.chunk = options.chunk
            try Self.check(options, compressionAllowed: false, count: entries.count)
        case .binary(let length), .string(let length):
            // PackedForward or CompressedPackedForward: [tag, bytes, option?]
            guard count <= 3 else { throw ForwardFrameError.wrongElementCount(count) }
            let payload = UnsafeBufferPointer(rebasing: bytes[try reader.payload(length)])
            let options = try Self.options(&reader, present: count == 3, maxDepth: maxDepth)
            self.chunk = options.chunk
            // An unknown compression is refused before its bytes are read as entries.
            try Self.check(options, compressionAllowed: true, count: nil)
            if let compression = options.compressed.flatMap(Compression.init(rawValue:)) {
                let inflated: [UInt8]
                do {
                    switch compression {
                    case .gzip: inflated = try GzipInflater.inflate(payload, limit: limits.maxInflatedBytes, claim: claim)
                    case .zstd: inflated = try ZstdInflater.inflate(payload, limit: limits.maxInflatedBytes, claim: claim)
                    }
                } catch let error as InflateError {
                    throw ForwardFrameError.compressedPayload(error)
                }
                self.entries = try inflated.withUnsafeBufferPointer { try Self.packedEntries($0, limits: limits, claim: claim) }
            } else {
                self.entries = try Self.packedEntries(payload, limits: limits, claim: claim)
            }
            try Self.check(options, compressionAllowed: true, count: entries.count)
        default:
            // Message mode: [tag, time, record, option?]
            guard count >= 3 else { throw ForwardFrameError.wrongElementCount(count) }
            reader.offset = second
            let time = try Self.time(&reader, maxDepth: maxDepth)
            self.entries = [(time, try Self.record(&reader, index: 0, depth: 1, limits: limits, claim: claim))]
            let options = try Self.options(&reader, present: count == 4, maxDepth: maxDepth)
            self.chunk = options.chunk
            try Self.check(options, compressionAllowed: false, count: 1)
        }
    }

    /// Whether the array just entered (`declared` long) is a `[time, metadata]`
    /// pair, so the frame is Message mode as Fluent Bit sends it with a
    /// per-record tag, and not Forward mode, whose array holds entries (arrays).
    /// Leaves `reader` where it was.
    private static func isTimeMetadataPair(_ reader: inout MessagePackReader, declared: UInt64) throws -> Bool {
        guard declared == 2 else { return false }
        let start = reader.offset
        defer { reader.offset = start }
        switch try reader.header() {
        case .array, .map: return false
        default: return true
        }
    }

    /// Parses a frame held in an array (tests, tools).
    public init(parsing bytes: [UInt8], limits: Limits, previousTag: String? = nil, claim: (Int) throws -> Void = { _ in }) throws {
        self = try bytes.withUnsafeBufferPointer { try ForwardFrame(parsing: $0, limits: limits, previousTag: previousTag, claim: claim) }
    }

    private struct Options {
        var chunk: MessagePackValue?
        var size: Int?
        var compressed: String?
    }

    /// Reads the option element, when the frame has one, in place: it comes
    /// with every frame Docker sends (`{"chunk": id}`), and building it as a
    /// value tree first cost allocations for keys nobody keeps.
    private static func options(_ reader: inout MessagePackReader, present: Bool, maxDepth: Int) throws -> Options {
        guard present else { return Options() }
        let declared: UInt64
        switch try reader.header() {
        case .scalar(.nil): return Options()
        case .map(let count): declared = count
        default: throw ForwardFrameError.optionNotAMap
        }
        guard 1 < maxDepth else { throw MessagePackError.nestingTooDeep(limit: maxDepth, offset: reader.offset) }
        var options = Options()
        for _ in 0..<(try reader.length(declared, payloadBytes: false)) {
            switch try optionName(&reader, maxDepth: maxDepth) {
            case .chunk: options.chunk = try reader.value(depth: 2, maxDepth: maxDepth)
            case .size:
                switch try reader.value(depth: 2, maxDepth: maxDepth) {
                case .int(let n): options.size = Int(clamping: n)
                case .uint(let n): options.size = Int(clamping: n)
                default: break
                }
            case .compressed: options.compressed = try reader.value(depth: 2, maxDepth: maxDepth).textValue
            case nil: try reader.skip(depth: 2, maxDepth: maxDepth)
            }
        }
        return options
    }

    private enum OptionName {
        case chunk, size, compressed
    }

    /// Reads an option's key: which of the options the frame reader uses it names, if any.
    private static func optionName(_ reader: inout MessagePackReader, maxDepth: Int) throws -> OptionName? {
        let start = reader.offset
        guard case .string(let declared) = try reader.header() else {
            reader.offset = start
            try reader.skip(depth: 2, maxDepth: maxDepth)
            return nil
        }
        let name = UnsafeBufferPointer(rebasing: reader.bytes[try reader.payload(declared)])
        if name.elementsEqual("chunk".utf8) { return .chunk }
        if name.elementsEqual("size".utf8) { return .size }
        if name.elementsEqual("compressed".utf8) { return .compressed }
        return nil
    }

    /// Checks `compressed`, and `size` against `count` once the entries are known.
    private static func check(_ options: Options, compressionAllowed: Bool, count: Int?) throws {
        if let compressed = options.compressed, compressed != "text" {
            guard compressionAllowed, Compression(rawValue: compressed) != nil else { throw ForwardFrameError.unsupportedCompression(compressed) }
        }
        if let size = options.size, let count, size != count {
            throw ForwardFrameError.sizeMismatch(declared: size, actual: count)
        }
    }

    /// The `[time, record]` entries of a PackedForward stream.
    private static func packedEntries(_ bytes: UnsafeBufferPointer<UInt8>, limits: Limits, claim: (Int) throws -> Void) throws -> [(time: EventTime, record: LogRecord)] {
        var result: [(time: EventTime, record: LogRecord)] = []
        var reader = MessagePackReader(bytes: bytes, offset: 0, maxLength: limits.decoder.maxLength)
        do {
            while reader.offset < bytes.count {
                guard result.count < limits.maxEntries else { throw ForwardFrameError.tooManyEntries(limit: limits.maxEntries) }
                result.append(try entry(&reader, index: result.count, depth: 0, limits: limits, claim: claim))
            }
        } catch let error as MessagePackError {
            throw ForwardFrameError.packedEntries(error)
        }
        return result
    }

    /// One `[time, record]` entry whose array sits at nesting `depth`.
    private static func entry(_ reader: inout MessagePackReader, index: Int, depth: Int, limits: Limits, claim: (Int) throws -> Void) throws -> (time: EventTime, record: LogRecord) {
        guard case .array(let declared) = try reader.header(), declared == 2 else {
            throw ForwardFrameError.entryNotATimeRecordPair(entry: index)
        }
        let maxDepth = limits.decoder.maxDepth
        guard depth < maxDepth else { throw MessagePackError.nestingTooDeep(limit: maxDepth, offset: reader.offset) }
        return (try time(&reader, maxDepth: maxDepth), try record(&reader, index: index, depth: depth + 1, limits: limits, claim: claim))
    }

    /// An event time read in place for the usual encodings (a positive integer,
    /// EventTime); anything else is decoded and judged by `time(_:)`.
    ///
    /// Fluent Bit 2.x and later send `[time, metadata]` where the time goes
    /// (`Retain_Metadata_In_Forward_Mode`, on by default): the time inside is
    /// taken, the metadata map is checked and left out, as Fluentd does.
    private static func time(_ reader: inout MessagePackReader, maxDepth: Int, insidePair: Bool = false) throws -> EventTime {
        let start = reader.offset
        switch try reader.header() {
        case .array(let declared) where !insidePair:
            guard declared == 2 else { throw ForwardFrameError.invalidTime("a [time, metadata] pair has 2 elements, not \(declared)") }
            let time = try Self.time(&reader, maxDepth: maxDepth, insidePair: true)
            let metadata = reader.offset
            guard case .map = try reader.header() else { throw ForwardFrameError.invalidTime("the metadata of a [time, metadata] pair must be a map") }
            reader.offset = metadata
            try reader.skip(depth: 2, maxDepth: maxDepth)
            return time
        case .scalar(.int(let seconds)):
            return EventTime(seconds: seconds)
        case .unsigned(let width) where width <= 4:
            return EventTime(seconds: Int64(try reader.bigEndian(width)))
        case .ext(let length, fixed: true) where length == 8 && reader.offset < reader.bytes.count && reader.bytes[reader.offset] == 0:
            reader.offset += 1
            let payload = try reader.payload(length)
            let seconds = reader.bytes[payload.prefix(4)].reduce(UInt32(0)) { $0 << 8 | UInt32($1) }
            let nanos = reader.bytes[payload.suffix(4)].reduce(UInt32(0)) { $0 << 8 | UInt32($1) }
            guard nanos < 1_000_000_000 else { throw ForwardFrameError.invalidTime("EventTime nanoseconds \(nanos) >= 1e9") }
            return EventTime(seconds: Int64(seconds), nanoseconds: nanos)
        default:
            reader.offset = start
            return try time(try reader.value(depth: 0, maxDepth: maxDepth))
        }
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

    /// A record map whose header sits at nesting `depth`: its keys must be UTF-8
    /// strings; its bytes are copied once into the record's own storage, after
    /// `claim` has been told what the record and its entry will hold.
    private static func record(_ reader: inout MessagePackReader, index: Int, depth: Int, limits: Limits, claim: (Int) throws -> Void) throws -> LogRecord {
        let maxDepth = limits.decoder.maxDepth
        let start = reader.offset
        guard case .map(let declared) = try reader.header() else { throw ForwardFrameError.recordNotAMap(entry: index) }
        guard depth < maxDepth else { throw MessagePackError.nestingTooDeep(limit: maxDepth, offset: reader.offset) }
        let count = try reader.length(declared, payloadBytes: false)
        var layout: [LogRecord.Field] = []
        layout.reserveCapacity(count)
        for _ in 0..<count {
            guard case .string(let keyLength) = try reader.header() else { throw ForwardFrameError.recordKeyNotAString(entry: index) }
            let key = try reader.payload(keyLength)
            guard RecordJSON.isValidUTF8(UnsafeBufferPointer(rebasing: reader.bytes[key])) else {
                throw ForwardFrameError.recordKeyNotAString(entry: index)
            }
            let valueStart = reader.offset
            try reader.skip(depth: depth + 1, maxDepth: maxDepth)
            layout.append(LogRecord.Field(key: key.lowerBound - start..<key.upperBound - start, value: valueStart - start..<reader.offset - start))
        }
        guard reader.offset - start <= limits.maxRecordBytes else { throw ForwardFrameError.recordTooLarge(entry: index, limit: limits.maxRecordBytes) }
        try claim(reader.offset - start + LogRecord.editReserve + count * MemoryLayout<LogRecord.Field>.stride
                  + MemoryLayout<(time: EventTime, record: LogRecord)>.stride)
        var storage: [UInt8] = []
        storage.reserveCapacity(reader.offset - start + LogRecord.editReserve)
        storage.append(contentsOf: UnsafeBufferPointer(rebasing: reader.bytes[start..<reader.offset]))
        return LogRecord(storage: storage, layout: layout)
    }
}
