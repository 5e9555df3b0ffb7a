/// Finds where one msgpack value ends in bytes that arrive in pieces, going
/// on from where the previous attempt stopped.
///
/// A connection that scanned its unfinished frame from the first byte after
/// every read would let a client trickling a large frame cost a scan of
/// everything so far per read, work quadratic in the frame's size. The
/// scanner keeps its place: the offset of the next item and how many items
/// each open array or map still owes. It applies the decoder's limits
/// (lengths, nesting) as it goes, so it refuses what decoding would refuse.
public struct MessagePackScanner {
    private let maxLength: Int
    private let maxDepth: Int
    /// Where the next item starts, counted from the value's first byte.
    private var position = 0
    /// Items each open array or map still owes, innermost last; the first entry is the value itself.
    private var owed = [1]

    public init(maxLength: Int, maxDepth: Int) {
        self.maxLength = maxLength
        self.maxDepth = maxDepth
        // A Forward frame nests three or four deep: room for that without growing.
        owed.reserveCapacity(8)
    }

    public init(limitsOf decoder: MessagePackDecoder) {
        self.init(maxLength: decoder.maxLength, maxDepth: decoder.maxDepth)
    }

    /// Starts over for the next value, keeping the memory it has.
    public mutating func restart() {
        position = 0
        owed.removeAll(keepingCapacity: true)
        owed.append(1)
    }

    /// Scans on through `bytes`, which hold the value from its first byte:
    /// everything received so far, the same bytes as before and then more.
    /// Returns the value's length once it is complete, nil while it needs more
    /// bytes; throws when the bytes are not msgpack or pass a limit.
    public mutating func scan(_ bytes: UnsafeBufferPointer<UInt8>) throws -> Int? {
        var reader = MessagePackReader(bytes: bytes, offset: position, maxLength: maxLength)
        while let last = owed.last {
            if last == 0 {
                owed.removeLast()
                continue
            }
            let opened: Int
            do {
                opened = try item(&reader)
            } catch MessagePackError.truncated {
                return nil
            }
            owed[owed.count - 1] -= 1
            if opened > 0 { owed.append(opened) }
            position = reader.offset
        }
        return position
    }

    /// Steps over one item's header and payload; returns how many items it opens (an array's or map's contents).
    private func item(_ reader: inout MessagePackReader) throws -> Int {
        switch try reader.header() {
        case .scalar:
            return 0
        case .string(let declared), .binary(let declared):
            _ = try reader.payload(declared)
            return 0
        case .ext(let declared, _):
            _ = try reader.byte()
            _ = try reader.payload(declared)
            return 0
        case .float32:
            _ = try reader.bigEndian(4)
            return 0
        case .float64:
            _ = try reader.bigEndian(8)
            return 0
        case .unsigned(let width), .signed(let width):
            _ = try reader.bigEndian(width)
            return 0
        case .array(let declared):
            return try opening(declared, items: 1, reader)
        case .map(let declared):
            return try opening(declared, items: 2, reader)
        }
    }

    /// Checks an array or map header against the nesting and length limits.
    private func opening(_ declared: UInt64, items: Int, _ reader: MessagePackReader) throws -> Int {
        // The item being read sits at depth owed.count - 1; the value itself is at depth 0.
        guard owed.count - 1 < maxDepth else { throw MessagePackError.nestingTooDeep(limit: maxDepth, offset: reader.offset) }
        guard declared <= UInt64(maxLength) else {
            throw MessagePackError.lengthOverLimit(declared: declared, limit: maxLength, offset: reader.offset)
        }
        return Int(declared) * items
    }
}
