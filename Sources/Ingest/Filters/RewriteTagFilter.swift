import Foundation
import Records

/// Why a rewrite_tag `Rule` cannot be used.
public struct RewriteTagRuleError: Error, Equatable, CustomStringConvertible {
    public let rule: String
    public let reason: String

    public var description: String { "invalid rewrite_tag Rule \"\(rule)\": \(reason)" }
}

/// Fluent Bit's `rewrite_tag` filter: re-emits a record under a new tag built
/// from regex captures and record fields, such as the tutorial's
/// `$ecs_task_arn ^(...)/(...)/(...)$ out.$3.$ecs_container_name false`.
///
/// The same few values (one task ARN per container) match over and over, so
/// each rule remembers its recent results and runs the regex once per value.
public struct RewriteTagFilter: RecordFilter {
    /// A class: every record reads the rule, and taking one reference costs less than copying its parts.
    public final class Rule: Sendable {
        public let key: RecordAccessor
        public let regex: NSRegularExpression
        public let newTag: RecordTemplate
        public let keepOriginal: Bool
        fileprivate let cache = MatchCache()

        /// Parses `$KEY REGEX NEW_TAG KEEP`.
        public init(parsing text: String) throws {
            let words = text.split(whereSeparator: { $0 == " " || $0 == "\t" })
            guard words.count == 4 else {
                throw RewriteTagRuleError(rule: text, reason: "expected 4 space-separated parts ($KEY REGEX NEW_TAG KEEP), found \(words.count)")
            }
            guard words[0].hasPrefix("$") else {
                throw RewriteTagRuleError(rule: text, reason: "the key must start with $")
            }
            do {
                key = try RecordAccessor(parsing: String(words[0]))
                regex = try NSRegularExpression(pattern: String(words[1]))
                newTag = try RecordTemplate(parsing: String(words[2]), allowCaptures: true)
            } catch let error as RecordAccessorError {
                throw RewriteTagRuleError(rule: text, reason: error.description)
            } catch {
                throw RewriteTagRuleError(rule: text, reason: "the regex \(words[1]) does not compile")
            }
            switch words[3].lowercased() {
            case "true", "on", "yes": keepOriginal = true
            case "false", "off", "no": keepOriginal = false
            default: throw RewriteTagRuleError(rule: text, reason: "KEEP must be true or false, not \(words[3])")
            }
        }

        /// The regex captures (index 0 is the whole match) for the text `bytes`, or `nil` when it does not match.
        func captures(of bytes: ArraySlice<UInt8>) -> [Substring]? {
            if let cached = cache.lookup(bytes) { return cached }
            let text = String(decoding: bytes, as: UTF8.self)
            var result: [Substring]? = nil
            if let match = regex.firstMatch(in: text, range: NSRange(text.startIndex..., in: text)) {
                result = (0..<match.numberOfRanges).map { index in
                    Range(match.range(at: index), in: text).map { Substring(text[$0]) } ?? ""
                }
            }
            cache.store(bytes, result)
            return result
        }
    }

    public let name = "rewrite_tag"
    public let match: TagPattern
    public let rules: [Rule]
    /// The rules as every record reads them, lent without a count (`SharedObjects`).
    private let sharedRules: SharedObjects<Rule>

    public init(match: TagPattern, rules: [Rule]) {
        self.match = match
        self.rules = rules
        sharedRules = SharedObjects(rules)
    }

    /// What one connection remembers of each rule: the last value its key
    /// had with the captures it gave, and the last tag it made. A run of
    /// records from one container then reaches neither the shared match cache
    /// (and its lock) nor the allocator.
    final class ConnectionMemo {
        fileprivate struct RuleMemo {
            var value: [UInt8] = []
            var captures: [Substring]??
            var tag = TemplateMemo()
        }

        fileprivate var rules: [RuleMemo]

        init(rules: Int) {
            self.rules = Array(repeating: RuleMemo(), count: rules)
        }
    }

    public func makeConnectionMemo() -> AnyObject? {
        ConnectionMemo(rules: rules.count)
    }

    public func apply(tag: String, record: inout LogRecord) -> FilterOutcome {
        apply(tag: tag, record: &record, memo: ConnectionMemo(rules: rules.count))
    }

    /// The first rule whose key matches decides; a record no rule matches passes unchanged.
    /// A rule whose new tag cannot be built (a field is missing) does not match.
    public func apply(tag: String, record: inout LogRecord, memo: AnyObject?) -> FilterOutcome {
        guard let memo = memo as? ConnectionMemo, memo.rules.count == rules.count else {
            return apply(tag: tag, record: &record)
        }
        for index in sharedRules.indices {
            let outcome = sharedRules.withElement(at: index) { rule -> FilterOutcome? in
                guard let value = rule.key.textBytes(in: record) else { return nil }
                let captures: [Substring]?
                if let remembered = memo.rules[index].captures, Self.same(memo.rules[index].value, value) {
                    captures = remembered
                } else {
                    captures = rule.captures(of: value)
                    memo.rules[index].value = Array(value.prefix(MatchCache.maxKeyBytes))
                    memo.rules[index].captures = value.count <= MatchCache.maxKeyBytes ? .some(captures) : nil
                }
                guard let captures, let newTag = rule.newTag.render(record, captures: captures, memo: &memo.rules[index].tag) else { return nil }
                return .reemit(tag: newTag, keepOriginal: rule.keepOriginal)
            }
            if let outcome { return outcome }
        }
        return .pass
    }

    /// Whether the remembered value is `value`, compared at once: `elementsEqual`
    /// walks them byte by byte through iterators, for every record (by perf, a
    /// tenth of the filter's time).
    private static func same(_ remembered: [UInt8], _ value: ArraySlice<UInt8>) -> Bool {
        guard remembered.count == value.count else { return false }
        return remembered.withUnsafeBytes { a in
            value.withUnsafeBytes { b in a.isEmpty || memcmp(a.baseAddress!, b.baseAddress!, a.count) == 0 }
        }
    }
}

/// A small, thread-safe memo of regex results keyed by the matched bytes.
///
/// The last value looked up is checked first: records come in runs from one
/// container, and comparing bytes is cheaper than hashing them. Only values
/// up to `maxKeyBytes` are kept (task ARNs are about 100 bytes), so a client
/// sending huge values cannot make the memo hold gigabytes.
// Safe to share: `lock` guards `entries` and `last`.
final class MatchCache: @unchecked Sendable {
    private let lock = NSLock()
    private var entries: [ArraySlice<UInt8>: [Substring]?] = [:]
    private var last: (key: ArraySlice<UInt8>, value: [Substring]?)?
    private let capacity = 4096
    static let maxKeyBytes = 1024

    func lookup(_ key: ArraySlice<UInt8>) -> [Substring]?? {
        lock.lock()
        defer { lock.unlock() }
        if let last, last.key == key { return .some(last.value) }
        guard let found = entries[key] else { return nil }
        last = (key, found)
        return .some(found)
    }

    func store(_ key: ArraySlice<UInt8>, _ value: [Substring]?) {
        guard key.count <= Self.maxKeyBytes else { return }
        // An own copy: `key` is a slice of a record's storage, which it would keep alive.
        let owned = ArraySlice(Array(key))
        lock.lock()
        defer { lock.unlock() }
        if entries.count >= capacity { entries.removeAll(keepingCapacity: true) }
        entries[owned] = .some(value)
        last = (owned, value)
    }
}
