/// A Fluent Bit `Match` pattern: literal text where `*` stands for any run of characters.
public struct TagPattern: Hashable, Sendable, CustomStringConvertible {
    public let pattern: String
    private let parts: [Substring]

    public init(_ pattern: String) {
        self.pattern = pattern
        self.parts = pattern.split(separator: "*", omittingEmptySubsequences: false)
    }

    public var description: String { pattern }

    public func matches(_ tag: String) -> Bool {
        if parts.count == 1 { return tag == pattern }
        var rest = Substring(tag)
        guard rest.hasPrefix(parts[0]) else { return false }
        rest = rest.dropFirst(parts[0].count)
        for part in parts.dropFirst().dropLast() where !part.isEmpty {
            guard let range = rest.range(of: part) else { return false }
            rest = rest[range.upperBound...]
        }
        return rest.hasSuffix(parts[parts.count - 1])
    }
}
