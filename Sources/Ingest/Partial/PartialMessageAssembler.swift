import Foundation
import Records

/// One piece of a split line, as the spool keeps it until the line is whole.
public struct StagedPiece: Hashable, Sendable {
    /// The line's `partial_id`.
    public var key: [UInt8]
    public var ordinal: Int
    /// The piece's record, msgpack-encoded (see `PartialMessageAssembler.encode`).
    public var bytes: [UInt8]

    public init(key: [UInt8], ordinal: Int, bytes: [UInt8]) {
        self.key = key
        self.ordinal = ordinal
        self.bytes = bytes
    }
}

/// Puts back together the lines Docker splits: a line of 16 KiB or more
/// arrives as records with `partial_message`, `partial_id`, `partial_ordinal`
/// and `partial_last`, each holding a slice of the line's bytes (a cut may
/// fall inside a UTF-8 character). The `log` bytes are joined in ordinal
/// order before anything reads them as text, and the partial keys removed.
///
/// Every piece is acked, so each is also staged durably in the spool until its
/// line is whole; the assembled line replaces the pieces in one commit.
/// Memory and time are bounded: a line still incomplete after `timeout`, or
/// when held pieces pass `maxBytes`, is flushed as far as it got, marked with
/// `partial_incomplete: "true"`, rather than lost.
// Safe to share: `lock` guards `lines` and `heldBytes`; the rest is immutable.
public final class PartialMessageAssembler: @unchecked Sendable {
    public enum Outcome {
        /// An ordinary record.
        case whole(TaggedRecord)
        /// A piece held for its line; stage it.
        case held(StagedPiece)
        /// The piece completed its line: the assembled record, and the staged pieces it replaces.
        case completed(TaggedRecord, key: [UInt8], piece: StagedPiece)
    }

    private struct Line {
        var pieces: [Int: TaggedRecord] = [:]
        var last: Int?
        /// Memory the held pieces take: whole records, not only their `log`
        /// bytes, so that pieces padded with other large fields count in full.
        var bytes = 0
        var started: Date
    }

    private let lock = NSLock()
    private var lines: [[UInt8]: Line] = [:]
    private var heldBytes = 0
    public let maxBytes: Int
    public let timeout: TimeInterval

    public init(maxBytes: Int = 64 << 20, timeout: TimeInterval = 30) {
        self.maxBytes = maxBytes
        self.timeout = timeout
    }

    static let partialKeys: [[UInt8]] = ["partial_message", "partial_id", "partial_ordinal", "partial_last"].map { Array($0.utf8) }
    static let logKey = Array("log".utf8)
    /// `partial_message` as an accessor path, and the text that marks a piece.
    private static let partialMessagePath = [partialKeys[0]]
    private static let trueText = Array("true".utf8)

    /// Lines in progress, for the metrics.
    public var pendingLines: Int {
        lock.lock()
        defer { lock.unlock() }
        return lines.count
    }

    /// Whether `record` says it is a piece of a split line: only such records
    /// need `add`. Asked first, so that every other record goes on as the only
    /// reference to its bytes, and the filters edit them in place rather than
    /// copy them.
    public static func isMarkedAsPiece(_ record: LogRecord) -> Bool {
        record.textBytes(at: partialMessagePath)?.elementsEqual(trueText) ?? false
    }

    public func add(_ record: consuming TaggedRecord) -> Outcome {
        guard Self.isMarkedAsPiece(record.record),
              let key = record.record[bytes: Self.partialKeys[1]]?.stringBytes,
              let ordinal = record.record[bytes: Self.partialKeys[2]]?.textValue.flatMap({ Int($0) }), ordinal >= 1 else {
            return .whole(record)
        }
        let isLast = record.record[bytes: Self.partialKeys[3]]?.textValue == "true"
        let piece = StagedPiece(key: key, ordinal: ordinal, bytes: Self.encode(record))
        lock.lock()
        defer { lock.unlock() }
        var line = lines[key] ?? Line(started: Date())
        let size = Self.heldSize(record, key: key)
        let replaced = line.pieces[ordinal].map { Self.heldSize($0, key: key) } ?? 0
        line.bytes += size - replaced
        heldBytes += size - replaced
        line.pieces[ordinal] = record
        if isLast { line.last = ordinal }
        if let last = line.last, (1...last).allSatisfy({ line.pieces[$0] != nil }) {
            lines[key] = nil
            heldBytes -= line.bytes
            return .completed(Self.assemble(line, complete: true), key: key, piece: piece)
        }
        lines[key] = line
        return .held(piece)
    }

    /// Lines to flush now: older than `timeout`, or the oldest ones while held pieces exceed `maxBytes`.
    public func due(now: Date = Date()) -> [(key: [UInt8], record: TaggedRecord)] {
        lock.lock()
        defer { lock.unlock() }
        var keys = lines.filter { now.timeIntervalSince($0.value.started) >= timeout }.map(\.key)
        if heldBytes > maxBytes {
            for (key, _) in lines.sorted(by: { $0.value.started < $1.value.started }) where heldBytes > maxBytes && !keys.contains(key) {
                keys.append(key)
                heldBytes -= lines[key]?.bytes ?? 0
                lines[key]?.bytes = 0
            }
        }
        return keys.compactMap { key in
            guard let line = lines.removeValue(forKey: key) else { return nil }
            heldBytes -= line.bytes
            return (key, Self.assemble(line, complete: false))
        }
    }

    /// Takes back the pieces staged before a restart.
    public func restore(_ pieces: [StagedPiece]) {
        for piece in pieces {
            guard let record = Self.decode(piece.bytes) else { continue }
            _ = add(record)
        }
    }

    /// What holding `record` as a piece of line `key` costs in memory.
    private static func heldSize(_ record: TaggedRecord, key: [UInt8]) -> Int {
        record.record.byteCount + record.tag.utf8.count + key.count
    }

    private static func logBytes(_ record: TaggedRecord) -> [UInt8] {
        switch record.record[bytes: logKey] {
        case .string(let bytes)?, .binary(let bytes)?: return bytes
        default: return []
        }
    }

    /// The first piece's record with the joined `log` bytes and without the partial keys.
    private static func assemble(_ line: Line, complete: Bool) -> TaggedRecord {
        let ordinals = line.pieces.keys.sorted()
        var joined: [UInt8] = []
        for ordinal in ordinals { joined.append(contentsOf: logBytes(line.pieces[ordinal]!)) }
        var result = line.pieces[ordinals[0]]!
        for key in partialKeys { result.record[bytes: key] = nil }
        result.record[bytes: logKey] = .string(joined)
        if !complete { result.record["partial_incomplete"] = .string("true") }
        return result
    }

    /// `[tag, seconds, nanoseconds, record]`.
    static func encode(_ record: TaggedRecord) -> [UInt8] {
        var encoder = MessagePackEncoder()
        encoder.encodeArrayHeader(count: 4)
        encoder.encode(.string(record.tag))
        encoder.encode(.int(record.time.seconds))
        encoder.encode(.int(Int64(record.time.nanoseconds)))
        record.record.encode(into: &encoder)
        return encoder.bytes
    }

    static func decode(_ bytes: [UInt8]) -> TaggedRecord? {
        guard case .array(let parts)? = try? MessagePackDecoder().decode(bytes), parts.count == 4,
              let tag = parts[0].stringBytes.flatMap({ String(validating: $0, as: UTF8.self) }),
              case .int(let seconds) = parts[1], case .int(let nanoseconds) = parts[2], case .map(let fields) = parts[3] else { return nil }
        return TaggedRecord(tag: tag, time: EventTime(seconds: seconds, nanoseconds: UInt32(clamping: nanoseconds)), record: LogRecord(fields: fields))
    }
}
