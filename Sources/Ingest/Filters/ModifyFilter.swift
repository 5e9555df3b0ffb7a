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

    public init(match: TagPattern, rules: [Rule]) {
        self.match = match
        self.rules = rules
    }

    public func apply(tag: String, record: inout LogRecord) -> FilterOutcome {
        for rule in rules {
            switch rule {
            case .rename(let from, let to), .hardRename(let from, let to):
                guard let source = record.index(of: Array(from.utf8)) else { continue }
                let target = Array(to.utf8)
                if let existing = record.index(of: target) {
                    guard case .hardRename = rule else { continue }
                    record.fields[existing].value = record.fields[source].value
                    record.fields.remove(at: source)
                } else {
                    record.fields[source].key = .string(target)
                }
            case .copy(let from, let to), .hardCopy(let from, let to):
                guard let value = record[from] else { continue }
                if record[to] != nil, case .copy = rule { continue }
                record[to] = value
            case .add(let key, let value):
                if record[key] == nil { record[key] = .string(value) }
            case .set(let key, let value):
                record[key] = .string(value)
            case .remove(let key):
                record[key] = nil
            }
        }
        return .pass
    }
}
