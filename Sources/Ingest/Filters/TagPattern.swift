/// A Fluent Bit `Match` pattern: literal text where `*` stands for any run of characters.
///
/// Matched on the tag's UTF-8 bytes: every filter and output checks every record's tag.
public struct TagPattern: Hashable, Sendable, CustomStringConvertible {
    public let pattern: String
    /// The literal pieces between the `*`s, as UTF-8.
    private let parts: [[UInt8]]

    public init(_ pattern: String) {
        self.pattern = pattern
        self.parts = pattern.split(separator: "*", omittingEmptySubsequences: false).map { Array($0.utf8) }
    }

    public var description: String { pattern }

    public func matches(_ tag: String) -> Bool {
        var tag = tag
        return tag.withUTF8 { bytes in
            if parts.count == 1 { return bytes.elementsEqual(parts[0]) }
            let first = parts[0]
            let last = parts[parts.count - 1]
            guard bytes.count >= first.count + last.count, bytes.starts(with: first),
                  bytes[(bytes.count - last.count)...].elementsEqual(last) else { return false }
            // The middle pieces, in order, leftmost first, between the prefix and the suffix.
            var position = first.count
            let end = bytes.count - last.count
            for part in parts.dropFirst().dropLast() where !part.isEmpty {
                guard let found = Self.find(part, in: bytes, from: position, to: end) else { return false }
                position = found + part.count
            }
            return true
        }
    }

    private static func find(_ needle: [UInt8], in haystack: UnsafeBufferPointer<UInt8>, from start: Int, to end: Int) -> Int? {
        guard end - start >= needle.count else { return nil }
        var i = start
        while i <= end - needle.count {
            if haystack[i] == needle[0] && haystack[i..<(i + needle.count)].elementsEqual(needle) { return i }
            i += 1
        }
        return nil
    }
}
