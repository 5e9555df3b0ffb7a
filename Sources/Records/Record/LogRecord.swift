/// A log record: string keys in the order the client sent them, each with its value.
///
/// Order matters because the CloudWatch message is the record as JSON "keys in
/// their original order", which is what Fluent Bit users see today.
///
/// The record keeps the msgpack bytes it arrived as and a list of where each
/// key and value lies in them, rather than a tree of decoded values: a Docker
/// record has ten-odd fields and most are only copied into the JSON message,
/// so decoding each into its own array would cost an allocation and reference
/// counting per field on the ingest hot path. Filters edit the field list and
/// append the bytes of new keys and values; a value is decoded only when a
/// filter asks for it.
public struct LogRecord: Sendable {
    /// Where one field's key (its UTF-8 bytes) and value (its whole msgpack encoding) lie in `storage`.
    struct Field: Sendable {
        var key: Range<Int>
        var value: Range<Int>
    }

    /// Keys and values as msgpack bytes: the map as received, then whatever filters added.
    private var storage: [UInt8]
    private var layout: [Field]

    /// Room left after a received record's bytes for the keys and values filters add,
    /// so that renaming a few keys does not reallocate the storage.
    static let editReserve = 256

    public init() {
        storage = []
        layout = []
    }

    /// A record from decoded pairs. String keys are taken as they are; any
    /// other key (only possible for records built in code) becomes its text.
    public init(fields: [MessagePackPair]) {
        self.init()
        for pair in fields {
            let key = pair.key.stringBytes ?? Array((pair.key.textValue ?? "").utf8)
            appendField(key: key, encodedValue: MessagePackEncoder.encoded(pair.value))
        }
    }

    public init(_ pairs: KeyValuePairs<String, MessagePackValue>) {
        self.init(fields: pairs.map { MessagePackPair(key: .string($0.key), value: $0.value) })
    }

    /// A record over bytes the frame parser has already walked and validated.
    init(storage: [UInt8], layout: [Field]) {
        self.storage = storage
        self.layout = layout
    }

    /// How many fields the record has.
    public var count: Int { layout.count }

    /// Where the record's bytes lie: tests tell by it that the filters edited
    /// them in place instead of copying them.
    var storageAddress: UnsafeRawPointer? { storage.withUnsafeBytes { $0.baseAddress } }

    /// About the memory the record holds (its keys and values and their places), for memory bounds.
    public var byteCount: Int { storage.count + layout.count * MemoryLayout<Field>.stride }

    /// The fields, decoded: for tests and rare paths, not for every record.
    public var fields: [MessagePackPair] {
        layout.indices.map { MessagePackPair(key: .string(Array(keyBytes(at: $0))), value: value(ofField: $0) ?? .nil) }
    }

    /// The UTF-8 bytes of the key of field `index`.
    public func keyBytes(at index: Int) -> ArraySlice<UInt8> {
        storage[layout[index].key]
    }

    /// The index of the field whose key's UTF-8 bytes are `key`.
    public func index(of key: some Collection<UInt8>) -> Int? {
        storage.withUnsafeBufferPointer { bytes in
            layout.firstIndex { Self.equal(bytes, $0.key, key) }
        }
    }

    /// The decoded value of field `index`.
    public func value(ofField index: Int) -> MessagePackValue? {
        decode(layout[index].value)
    }

    /// The string bytes of field `index`, or nil when its value is not a string.
    public func stringBytes(ofField index: Int) -> ArraySlice<UInt8>? {
        stringPayload(layout[index].value).map { storage[$0] }
    }

    public subscript(key: String) -> MessagePackValue? {
        get { self[bytes: Array(key.utf8)] }
        set { self[bytes: Array(key.utf8)] = newValue }
    }

    /// The value of the key whose UTF-8 bytes are `key`; setting `nil` removes the field,
    /// setting a new key appends it.
    public subscript(bytes key: [UInt8]) -> MessagePackValue? {
        get { index(of: key).flatMap { value(ofField: $0) } }
        set {
            if let newValue {
                setField(key: key, encodedValue: MessagePackEncoder.encoded(newValue))
            } else if let index = index(of: key) {
                removeField(at: index)
            }
        }
    }

    /// Follows a record-accessor path (`$a['b']['c']` is `["a", "b", "c"]`, as UTF-8 keys) through nested maps.
    public func value(at path: [[UInt8]]) -> MessagePackValue? {
        valueRange(at: path).flatMap(decode)
    }

    /// The value at `path` as text bytes: a string's own bytes (no copy), a
    /// number's or boolean's digits; nil for anything else or a missing path.
    public func textBytes(at path: [[UInt8]]) -> ArraySlice<UInt8>? {
        guard let range = valueRange(at: path) else { return nil }
        if let payload = stringPayload(range) { return storage[payload] }
        return decode(range)?.textValue.map { Array($0.utf8)[...] }
    }

    /// Appends the text of the field whose key's UTF-8 bytes are `key` to
    /// `text`, as `textBytes(at: [key])` gives it; `false`, appending nothing,
    /// when there is no such field or its value has no text. For templates,
    /// filled for every record: it reads the bytes where they lie, where a
    /// slice of them would take a reference to the record's storage.
    public func appendText(ofKey key: UnsafeBufferPointer<UInt8>, to text: inout [UInt8]) -> Bool {
        storage.withUnsafeBufferPointer { bytes in
            guard let field = layout.first(where: { Self.equal(bytes, $0.key, key) }) else { return false }
            var reader = MessagePackReader(bytes: UnsafeBufferPointer(rebasing: bytes[..<field.value.upperBound]), offset: field.value.lowerBound, maxLength: .max)
            if case .string(let length)? = try? reader.header(), let payload = try? reader.payload(length) {
                text.append(contentsOf: UnsafeBufferPointer(rebasing: bytes[payload]))
                return true
            }
            guard let value = decode(field.value)?.textValue else { return false }
            text.append(contentsOf: value.utf8)
            return true
        }
    }

    // MARK: Edits, used by the filters

    /// Gives field `index` the key `key`.
    public mutating func renameField(at index: Int, to key: some Collection<UInt8>) {
        layout[index].key = append(key)
    }

    /// Gives field `target` the value of field `source`.
    public mutating func setValue(ofField target: Int, toValueOf source: Int) {
        layout[target].value = layout[source].value
    }

    /// Appends a field named `key` with the same value as field `source`.
    public mutating func appendField(key: some Collection<UInt8>, copyingValueOf source: Int) {
        layout.append(Field(key: append(key), value: layout[source].value))
    }

    /// Sets `key` to an already encoded msgpack value, appending the field when it is new.
    public mutating func setField(key: some Collection<UInt8>, encodedValue: some Collection<UInt8>) {
        if let index = index(of: key) {
            layout[index].value = append(encodedValue)
        } else {
            appendField(key: key, encodedValue: encodedValue)
        }
    }

    public mutating func removeField(at index: Int) {
        layout.remove(at: index)
    }

    private mutating func appendField(key: some Collection<UInt8>, encodedValue: some Collection<UInt8>) {
        let keyRange = append(key)
        layout.append(Field(key: keyRange, value: append(encodedValue)))
    }

    private mutating func append(_ bytes: some Collection<UInt8>) -> Range<Int> {
        let start = storage.count
        storage.append(contentsOf: bytes)
        return start..<storage.count
    }

    // MARK: Reading the bytes

    /// Appends the record as a msgpack map.
    public func encode(into encoder: inout MessagePackEncoder) {
        encoder.encodeMapHeader(count: layout.count)
        storage.withUnsafeBufferPointer { bytes in
            for field in layout {
                encoder.encodeString(UnsafeBufferPointer(rebasing: bytes[field.key]))
                encoder.appendEncoded(UnsafeBufferPointer(rebasing: bytes[field.value]))
            }
        }
    }

    /// Calls `body` with the storage bytes and the field layout, for renderers that read them in place.
    func withFields<R>(_ body: (UnsafeBufferPointer<UInt8>, [Field]) throws -> R) rethrows -> R {
        try storage.withUnsafeBufferPointer { try body($0, layout) }
    }

    /// Where the value at `path` lies, walking nested maps in place.
    private func valueRange(at path: [[UInt8]]) -> Range<Int>? {
        guard let first = path.first, let index = index(of: first) else { return nil }
        var range = layout[index].value
        for key in path.dropFirst() {
            guard let next = storage.withUnsafeBufferPointer({ Self.mapValue(in: $0, map: range, key: key) }) else { return nil }
            range = next
        }
        return range
    }

    /// The range of the value under `key` in the msgpack map at `map`.
    private static func mapValue(in bytes: UnsafeBufferPointer<UInt8>, map: Range<Int>, key: [UInt8]) -> Range<Int>? {
        var reader = MessagePackReader(bytes: UnsafeBufferPointer(rebasing: bytes[..<map.upperBound]), offset: map.lowerBound, maxLength: .max)
        guard case .map(let declared)? = try? reader.header() else { return nil }
        for _ in 0..<declared {
            var matches = false
            let keyStart = reader.offset
            if case .string(let length)? = try? reader.header(), let payload = try? reader.payload(length) {
                matches = equal(bytes, payload, key)
            } else {
                reader.offset = keyStart
                guard (try? reader.skip(depth: 0, maxDepth: .max)) != nil else { return nil }
            }
            let start = reader.offset
            guard (try? reader.skip(depth: 0, maxDepth: .max)) != nil else { return nil }
            if matches { return start..<reader.offset }
        }
        return nil
    }

    /// The payload range of the string encoded at `range`, or nil when it is not a string.
    private func stringPayload(_ range: Range<Int>) -> Range<Int>? {
        storage.withUnsafeBufferPointer { bytes in
            var reader = MessagePackReader(bytes: UnsafeBufferPointer(rebasing: bytes[..<range.upperBound]), offset: range.lowerBound, maxLength: .max)
            guard case .string(let length)? = try? reader.header() else { return nil }
            return try? reader.payload(length)
        }
    }

    private func decode(_ range: Range<Int>) -> MessagePackValue? {
        storage.withUnsafeBufferPointer { bytes in
            var reader = MessagePackReader(bytes: UnsafeBufferPointer(rebasing: bytes[..<range.upperBound]), offset: range.lowerBound, maxLength: .max)
            return try? reader.value(depth: 0, maxDepth: .max)
        }
    }

    private static func equal(_ bytes: UnsafeBufferPointer<UInt8>, _ range: Range<Int>, _ wanted: some Collection<UInt8>) -> Bool {
        guard range.count == wanted.count else { return false }
        var i = range.lowerBound
        for b in wanted {
            if bytes[i] != b { return false }
            i += 1
        }
        return true
    }
}

extension LogRecord: Hashable {
    /// Two records are equal when they have the same keys and values in the same order,
    /// however their bytes happen to be laid out.
    public static func == (lhs: LogRecord, rhs: LogRecord) -> Bool {
        lhs.fields == rhs.fields
    }

    public func hash(into hasher: inout Hasher) {
        hasher.combine(fields)
    }
}

/// A record on its way through the pipeline: where it is routed (its tag) and when it happened.
public struct TaggedRecord: Hashable, Sendable {
    public var tag: String
    public var time: EventTime
    public var record: LogRecord

    public init(tag: String, time: EventTime, record: LogRecord) {
        self.tag = tag
        self.time = time
        self.record = record
    }
}
