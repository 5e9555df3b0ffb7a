import Foundation
import Records

/// Fluent Bit's `modify` filter: rename, add, set, remove and copy keys.
///
/// Rules run in config order. As in Fluent Bit, `Rename` and `Copy` leave the
/// record alone when the target key exists; the `Hard_` forms overwrite it.
/// With `Condition`s, the rules apply only to records that meet all of them.
public struct ModifyFilter: RecordFilter {
    /// Fluent Bit's `Condition` kinds.
    public enum Condition: Sendable {
        case keyExists(String)
        case keyDoesNotExist(String)
        case keyValueEquals(String, String)
        case keyValueDoesNotEqual(String, String)
        case keyValueMatches(String, NSRegularExpression)
        case keyValueDoesNotMatch(String, NSRegularExpression)
        case aKeyMatches(NSRegularExpression)
        case noKeyMatches(NSRegularExpression)

        /// Parses `Key_value_equals KEY VALUE` and the like.
        public init(parsing text: String) throws {
            let words = text.split(whereSeparator: { $0 == " " || $0 == "\t" }).map(String.init)
            func regex(_ pattern: String) throws -> NSRegularExpression {
                do {
                    return try NSRegularExpression(pattern: pattern)
                } catch {
                    throw ModifyConditionError(condition: text, reason: "the regex \(pattern) does not compile")
                }
            }
            switch (words.first?.lowercased(), words.count) {
            case ("key_exists", 2): self = .keyExists(words[1])
            case ("key_does_not_exist", 2): self = .keyDoesNotExist(words[1])
            case ("key_value_equals", 3): self = .keyValueEquals(words[1], words[2])
            case ("key_value_does_not_equal", 3): self = .keyValueDoesNotEqual(words[1], words[2])
            case ("key_value_matches", 3): self = .keyValueMatches(words[1], try regex(words[2]))
            case ("key_value_does_not_match", 3): self = .keyValueDoesNotMatch(words[1], try regex(words[2]))
            case ("a_key_matches", 2): self = .aKeyMatches(try regex(words[1]))
            case ("no_key_matches", 2): self = .noKeyMatches(try regex(words[1]))
            default:
                throw ModifyConditionError(condition: text, reason: "expected Key_exists, Key_does_not_exist, Key_value_equals, Key_value_does_not_equal, Key_value_matches, Key_value_does_not_match, A_key_matches or No_key_matches with its arguments")
            }
        }

        private func keys(of record: LogRecord) -> [String] {
            (0..<record.count).map { String(decoding: record.keyBytes(at: $0), as: UTF8.self) }
        }

        func holds(for record: LogRecord) -> Bool {
            func matches(_ regex: NSRegularExpression, _ text: String) -> Bool {
                regex.firstMatch(in: text, range: NSRange(text.startIndex..., in: text)) != nil
            }
            switch self {
            case .keyExists(let key): return record[key] != nil
            case .keyDoesNotExist(let key): return record[key] == nil
            case .keyValueEquals(let key, let value): return record[key]?.textValue == value
            case .keyValueDoesNotEqual(let key, let value): return record[key]?.textValue != value
            case .keyValueMatches(let key, let regex): return record[key]?.textValue.map { matches(regex, $0) } ?? false
            case .keyValueDoesNotMatch(let key, let regex): return !(record[key]?.textValue.map { matches(regex, $0) } ?? false)
            case .aKeyMatches(let regex): return keys(of: record).contains { matches(regex, $0) }
            case .noKeyMatches(let regex): return !keys(of: record).contains { matches(regex, $0) }
            }
        }
    }

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
    public let conditions: [Condition]
    /// The rules as plain ranges into `ruleBytes`: applying them copies no
    /// reference, so the event loops do not contend on shared counts.
    private let operations: [Operation]
    /// Every key and encoded value the rules name, end to end.
    private let ruleBytes: [UInt8]

    private struct Operation {
        enum Kind { case rename, copy, set, remove }
        let kind: Kind
        /// The key the rule reads (or removes, or sets).
        let key: Range<Int>
        /// The key written (rename, copy) or the encoded value (set).
        let operand: Range<Int>
        /// Hard_rename, Hard_copy, or Set (rather than Add): overwrite what is there.
        let overwrite: Bool
    }

    public init(match: TagPattern, rules: [Rule], conditions: [Condition] = []) {
        self.match = match
        self.rules = rules
        self.conditions = conditions
        var bytes: [UInt8] = []
        func add(_ more: [UInt8]) -> Range<Int> {
            bytes.append(contentsOf: more)
            return bytes.count - more.count..<bytes.count
        }
        func operation(_ kind: Operation.Kind, _ key: String, _ operand: [UInt8], overwrite: Bool) -> Operation {
            Operation(kind: kind, key: add(Array(key.utf8)), operand: add(operand), overwrite: overwrite)
        }
        self.operations = rules.map { rule in
            switch rule {
            case .rename(let from, let to): return operation(.rename, from, Array(to.utf8), overwrite: false)
            case .hardRename(let from, let to): return operation(.rename, from, Array(to.utf8), overwrite: true)
            case .copy(let from, let to): return operation(.copy, from, Array(to.utf8), overwrite: false)
            case .hardCopy(let from, let to): return operation(.copy, from, Array(to.utf8), overwrite: true)
            case .add(let key, let value): return operation(.set, key, MessagePackEncoder.encoded(.string(value)), overwrite: false)
            case .set(let key, let value): return operation(.set, key, MessagePackEncoder.encoded(.string(value)), overwrite: true)
            case .remove(let key): return operation(.remove, key, [], overwrite: false)
            }
        }
        self.ruleBytes = bytes
    }

    public func apply(tag: String, record: inout LogRecord) -> FilterOutcome {
        guard conditions.allSatisfy({ $0.holds(for: record) }) else { return .pass }
        ruleBytes.withUnsafeBufferPointer { bytes in
            operations.withUnsafeBufferPointer { operations in
                for operation in operations {
                    Self.apply(operation, key: UnsafeBufferPointer(rebasing: bytes[operation.key]),
                               operand: UnsafeBufferPointer(rebasing: bytes[operation.operand]), to: &record)
                }
            }
        }
        return .pass
    }

    private static func apply(_ operation: Operation, key: UnsafeBufferPointer<UInt8>, operand: UnsafeBufferPointer<UInt8>, to record: inout LogRecord) {
        switch operation.kind {
        case .rename:
            guard let source = record.index(of: key) else { return }
            if let existing = record.index(of: operand) {
                guard operation.overwrite else { return }
                record.setValue(ofField: existing, toValueOf: source)
                record.removeField(at: source)
            } else {
                record.renameField(at: source, to: operand)
            }
        case .copy:
            guard let source = record.index(of: key) else { return }
            if let existing = record.index(of: operand) {
                guard operation.overwrite else { return }
                record.setValue(ofField: existing, toValueOf: source)
            } else {
                record.appendField(key: operand, copyingValueOf: source)
            }
        case .set:
            if operation.overwrite || record.index(of: key) == nil { record.setField(key: key, encodedValue: operand) }
        case .remove:
            if let index = record.index(of: key) { record.removeField(at: index) }
        }
    }
}

/// Why a modify `Condition` cannot be used.
public struct ModifyConditionError: Error, Equatable, CustomStringConvertible {
    public let condition: String
    public let reason: String

    public var description: String { "invalid modify Condition \"\(condition)\": \(reason)" }
}
