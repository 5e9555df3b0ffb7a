import Records
/// Why a record-accessor or tag template is malformed.
public struct RecordAccessorError: Error, Equatable, CustomStringConvertible {
    public let text: String
    public let reason: String

    public var description: String { "invalid record accessor in \"\(text)\": \(reason)" }
}

/// Fluent Bit's record accessor syntax: `$key` or `$key['sub']['subsub']`.
public struct RecordAccessor: Hashable, Sendable {
    public let path: [String]
    /// The path's keys as UTF-8, looked up for every record without converting again.
    let keys: [[UInt8]]

    public init(path: [String]) {
        self.path = path
        self.keys = path.map { Array($0.utf8) }
    }

    /// The value this accessor names in `record`, or nil.
    public func value(in record: LogRecord) -> MessagePackValue? {
        record.value(at: keys)
    }

    /// The value as text bytes (see `LogRecord.textBytes(at:)`), read in place for strings.
    public func textBytes(in record: LogRecord) -> ArraySlice<UInt8>? {
        record.textBytes(at: keys)
    }

    /// Parses one accessor at the start of `text` (which begins with `$`);
    /// returns it and how many characters it took.
    static func parse(_ text: Substring) throws -> (RecordAccessor, Int) {
        var index = text.index(after: text.startIndex)
        let nameStart = index
        // Key names are letters, digits and '_'; anything else (such as the '.' in
        // "$cluster.$family") ends the key, as in Fluent Bit's templates.
        while index < text.endIndex, text[index].isLetter || text[index].isNumber || text[index] == "_" {
            index = text.index(after: index)
        }
        guard index > nameStart else {
            throw RecordAccessorError(text: String(text), reason: "expected a key name after $")
        }
        var path = [String(text[nameStart..<index])]
        while index < text.endIndex, text[index] == "[" {
            let rest = text[index...]
            guard rest.hasPrefix("['") || rest.hasPrefix("[\""),
                  let close = rest.dropFirst(2).firstIndex(where: { $0 == "'" || $0 == "\"" }),
                  text.index(after: close) < text.endIndex, text[text.index(after: close)] == "]" else {
                throw RecordAccessorError(text: String(text), reason: "expected ['key'] after \(path.joined(separator: "."))")
            }
            path.append(String(text[text.index(index, offsetBy: 2)..<close]))
            index = text.index(close, offsetBy: 2)
        }
        return (RecordAccessor(path: path), text.distance(from: text.startIndex, to: index))
    }

    public init(parsing text: String) throws {
        let (accessor, length) = try Self.parse(Substring(text))
        guard length == text.count else {
            throw RecordAccessorError(text: text, reason: "unexpected text after the accessor")
        }
        self = accessor
    }
}

/// A string with `$key` record accessors and, optionally, `$1..$9` capture references,
/// such as rewrite_tag's new tag or cloudwatch_logs' `log_group_template`.
public struct RecordTemplate: Hashable, Sendable {
    public enum Part: Hashable, Sendable {
        case literal(String)
        case field(RecordAccessor)
        case capture(Int)
    }

    public let parts: [Part]
    /// The parts as `render` walks them for every record: plain ranges of
    /// `stepBytes` and numbers, so that taking one out of the array takes no
    /// reference (a `Part` taken out retains its string, or its accessor's
    /// arrays), and a literal is appended at once where a String's view is
    /// copied byte by byte.
    private let steps: [Step]
    /// The literals' UTF-8 bytes and the one-key accessors' keys, end to end.
    private let stepBytes: [UInt8]

    private enum Step: Hashable, Sendable {
        case literal(Range<Int>)
        /// A `$key` with no sub-keys: the key's bytes.
        case key(Range<Int>)
        /// An accessor with sub-keys (`$a['b']`): the index of its part.
        case path(Int)
        case capture(Int)
    }

    public init(parsing text: String, allowCaptures: Bool) throws {
        var parts: [Part] = []
        var literal = ""
        var rest = Substring(text)
        while let first = rest.first {
            if first == "$", let next = rest.dropFirst().first {
                if allowCaptures, let digit = next.wholeNumberValue, next.isASCII {
                    if !literal.isEmpty { parts.append(.literal(literal)); literal = "" }
                    parts.append(.capture(digit))
                    rest = rest.dropFirst(2)
                    continue
                }
                if next.isLetter || next == "_" {
                    if !literal.isEmpty { parts.append(.literal(literal)); literal = "" }
                    let (accessor, length) = try RecordAccessor.parse(rest)
                    parts.append(.field(accessor))
                    rest = rest.dropFirst(length)
                    continue
                }
            }
            literal.append(first)
            rest = rest.dropFirst()
        }
        if !literal.isEmpty { parts.append(.literal(literal)) }
        self.parts = parts
        var bytes: [UInt8] = []
        func range(of text: some Collection<UInt8>) -> Range<Int> {
            bytes.append(contentsOf: text)
            return bytes.count - text.count..<bytes.count
        }
        steps = parts.indices.map { index in
            switch parts[index] {
            case .literal(let text): return .literal(range(of: text.utf8))
            case .field(let accessor) where accessor.keys.count == 1: return .key(range(of: accessor.keys[0]))
            case .field: return .path(index)
            case .capture(let n): return .capture(n)
            }
        }
        stepBytes = bytes
    }

    /// The accessors this template reads.
    public var fields: [RecordAccessor] {
        parts.compactMap { if case .field(let accessor) = $0 { return accessor } else { return nil } }
    }

    /// Fills the template, answering with `memo`'s last text when the result is the same;
    /// `nil` when a field it names is missing from the record.
    public func render(_ record: LogRecord, captures: [Substring] = [], memo: inout TemplateMemo) -> String? {
        memo.scratch.removeAll(keepingCapacity: true)
        let complete = steps.withUnsafeBufferPointer { steps in
            stepBytes.withUnsafeBufferPointer { bytes in
                for step in steps {
                    switch step {
                    case .literal(let range):
                        memo.scratch.append(contentsOf: UnsafeBufferPointer(rebasing: bytes[range]))
                    case .key(let range):
                        guard record.appendText(ofKey: UnsafeBufferPointer(rebasing: bytes[range]), to: &memo.scratch) else { return false }
                    case .path(let index):
                        guard case .field(let accessor) = parts[index], let value = accessor.textBytes(in: record) else { return false }
                        memo.scratch.append(contentsOf: value)
                    case .capture(let n):
                        guard n < captures.count else { return false }
                        let capture = captures[n].utf8
                        // A capture of a native string is contiguous: appended at once, not byte by byte.
                        if capture.withContiguousStorageIfAvailable({ memo.scratch.append(contentsOf: $0) }) == nil {
                            memo.scratch.append(contentsOf: capture)
                        }
                    }
                }
                return true
            }
        }
        return complete ? memo.result() : nil
    }
}
