/// Fluent Bit's `modify` filter: rename, add, set, remove and copy keys.
///
/// Rules run in config order. As in Fluent Bit, `Rename` and `Copy` leave the
/// record alone when the target key exists; the `Hard_` forms overwrite it.
public struct ModifyFilter: RecordFilter {
    public enum Rule: Hashable, Sendable {
        case rename(from: String, to: String)
        case hardRename(from: String, to: String)
        case copy(from: String, to: String)
        case hardCopy(from: String, to: String)
        case add(key: String, value: String)
        case set(key: String, value: String)
        case remove(key: String)
    }

    public let name = "modify"
    public let match: TagPattern
    public let rules: [Rule]
    /// The rules with their keys as bytes, so applying them allocates nothing per record.
    private let operations: [Operation]

    private enum Operation: Sendable {
        case rename(from: [UInt8], to: [UInt8], hard: Bool)
        case copy(from: [UInt8], to: [UInt8], hard: Bool)
        case add(key: [UInt8], value: MessagePackValue, overwrite: Bool)
        case remove(key: [UInt8])
    }

    public init(match: TagPattern, rules: [Rule]) {
        self.match = match
        self.rules = rules
        self.operations = rules.map { rule in
            switch rule {
            case .rename(let from, let to): return .rename(from: Array(from.utf8), to: Array(to.utf8), hard: false)
            case .hardRename(let from, let to): return .rename(from: Array(from.utf8), to: Array(to.utf8), hard: true)
            case .copy(let from, let to): return .copy(from: Array(from.utf8), to: Array(to.utf8), hard: false)
            case .hardCopy(let from, let to): return .copy(from: Array(from.utf8), to: Array(to.utf8), hard: true)
            case .add(let key, let value): return .add(key: Array(key.utf8), value: .string(value), overwrite: false)
            case .set(let key, let value): return .add(key: Array(key.utf8), value: .string(value), overwrite: true)
            case .remove(let key): return .remove(key: Array(key.utf8))
            }
        }
    }

    public func apply(tag: String, record: inout LogRecord) -> FilterOutcome {
        for operation in operations {
            switch operation {
            case .rename(let from, let to, let hard):
                guard let source = record.index(of: from) else { continue }
                if let existing = record.index(of: to) {
                    guard hard else { continue }
                    record.fields[existing].value = record.fields[source].value
                    record.fields.remove(at: source)
                } else {
                    record.fields[source].key = .string(to)
                }
            case .copy(let from, let to, let hard):
                guard let value = record[bytes: from] else { continue }
                if !hard && record.index(of: to) != nil { continue }
                record[bytes: to] = value
            case .add(let key, let value, let overwrite):
                if overwrite || record.index(of: key) == nil { record[bytes: key] = value }
            case .remove(let key):
                record[bytes: key] = nil
            }
        }
        return .pass
    }
}
