/// Tags compared as the bytes a client sent.
///
/// Swift's `==` on strings compares characters, so "é" written as one code
/// point equals "e" followed by U+0301. A tag is matched, rewritten and stored
/// as bytes, as Fluent Bit treats it, so two tags are the same only byte for
/// byte. Tags are short, so a plain loop over the bytes does, and a string
/// compared with itself is answered without it. Neither copies the strings:
/// the retains of a copy cost more than the loop.
public enum TagBytes {
    /// Whether `string`'s UTF-8 is exactly `bytes`.
    public static func utf8(of string: String, equals bytes: UnsafeBufferPointer<UInt8>) -> Bool {
        guard string.utf8.count == bytes.count else { return false }
        return string.utf8.withContiguousStorageIfAvailable { utf8 in
            // The same storage (a frame that took the previous frame's tag): no need to look at the bytes.
            if utf8.baseAddress == bytes.baseAddress { return true }
            for index in 0..<utf8.count where utf8[index] != bytes[index] { return false }
            return true
        } ?? string.utf8.elementsEqual(bytes)
    }

    /// Whether two strings have the same UTF-8.
    public static func same(_ a: String, _ b: String) -> Bool {
        guard a.utf8.count == b.utf8.count else { return false }
        return b.utf8.withContiguousStorageIfAvailable { utf8(of: a, equals: $0) } ?? a.utf8.elementsEqual(b.utf8)
    }
}
