/// A log record: string keys in the order the client sent them.
///
/// Order matters because the CloudWatch message is the record as JSON "keys in
/// their original order", which is what Fluent Bit users see today. A linear
/// field list beats a dictionary for the ten-odd keys Docker sends.
public struct LogRecord: Hashable, Sendable {
    /// Every key is a `.string`; `ForwardFrame` rejects records where it is not.
    public var fields: [MessagePackPair]

    public init(fields: [MessagePackPair] = []) {
        self.fields = fields
    }

    public init(_ pairs: KeyValuePairs<String, MessagePackValue>) {
        self.fields = pairs.map { MessagePackPair(key: .string($0.key), value: $0.value) }
    }

    public func index(of key: [UInt8]) -> Int? {
        fields.firstIndex { $0.key.stringBytes == key }
    }

    public subscript(key: String) -> MessagePackValue? {
        get { self[bytes: Array(key.utf8)] }
        set { self[bytes: Array(key.utf8)] = newValue }
    }

    /// The value of the key whose UTF-8 bytes are `key`; setting `nil` removes the field,
    /// setting a new key appends it.
    public subscript(bytes key: [UInt8]) -> MessagePackValue? {
        get { index(of: key).map { fields[$0].value } }
        set {
            switch (index(of: key), newValue) {
            case (let i?, let value?): fields[i].value = value
            case (let i?, nil): fields.remove(at: i)
            case (nil, let value?): fields.append(MessagePackPair(key: .string(key), value: value))
            case (nil, nil): break
            }
        }
    }

    /// Follows a record-accessor path (`$a['b']['c']` is `["a", "b", "c"]`, as UTF-8 keys) through nested maps.
    public func value(at path: [[UInt8]]) -> MessagePackValue? {
        guard let first = path.first, var current = self[bytes: first] else { return nil }
        for key in path.dropFirst() {
            guard case .map(let pairs) = current, let next = pairs.first(where: { $0.key.stringBytes == key }) else { return nil }
            current = next.value
        }
        return current
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
