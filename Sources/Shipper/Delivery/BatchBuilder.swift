import Spool

/// The limits CloudWatch puts on one PutLogEvents call.
public struct BatchLimits: Sendable {
    public var maxBytes = 1_048_576
    public var maxEvents = 10_000
    /// Counted per event on top of its message bytes.
    public var perEventOverhead = 26
    /// The largest message; longer ones are cut to this (1 MiB in today's service model).
    public var maxEventBytes = 1_048_576 - 26
    /// The longest time a batch may span.
    public var maxSpanMilliseconds: Int64 = 24 * 3_600_000

    public init() {}
}

/// A batch ready to send, and the spool id through which it is delivered once accepted.
struct PreparedBatch {
    var events: [InputLogEvent]
    var throughID: Int64
    /// How many messages were cut to `maxEventBytes`.
    var truncated: Int
}

/// Cuts the oldest undelivered records of a stream into one batch within every
/// PutLogEvents rule: byte and event counts, 24-hour span, chronological order.
///
/// The batch is always a prefix of the records in spool order, so that
/// delivering it can advance the stream's cursor to its last id.
enum BatchBuilder {
    static func build(_ records: [StoredRecord], limits: BatchLimits) -> PreparedBatch? {
        guard !records.isEmpty else { return nil }
        var events: [InputLogEvent] = []
        var bytes = 0
        var truncated = 0
        var earliest = Int64.max
        var latest = Int64.min
        var throughID: Int64 = 0
        for record in records {
            var message = record.message
            if message.count > limits.maxEventBytes {
                message = truncateUTF8(message, to: limits.maxEventBytes)
                truncated += 1
            }
            let timestamp = floorDivide(record.timeNanoseconds, 1_000_000)
            let size = message.count + limits.perEventOverhead
            let newEarliest = min(earliest, timestamp)
            let newLatest = max(latest, timestamp)
            if !events.isEmpty {
                if events.count == limits.maxEvents || bytes + size > limits.maxBytes || newLatest - newEarliest > limits.maxSpanMilliseconds {
                    break
                }
            }
            events.append(InputLogEvent(timestamp: timestamp, message: message))
            bytes += size
            earliest = newEarliest
            latest = newLatest
            throughID = record.id
        }
        // Stable: records with the same timestamp keep their arrival order.
        let ordered = events.enumerated().sorted { ($0.element.timestamp, $0.offset) < ($1.element.timestamp, $1.offset) }.map(\.element)
        return PreparedBatch(events: ordered, throughID: throughID, truncated: truncated)
    }

    /// Cuts `bytes` to at most `limit` bytes without splitting a UTF-8 character.
    static func truncateUTF8(_ bytes: [UInt8], to limit: Int) -> [UInt8] {
        var end = limit
        while end > 0 && bytes[end] & 0xc0 == 0x80 { end -= 1 }
        return Array(bytes[0..<end])
    }

    private static func floorDivide(_ a: Int64, _ b: Int64) -> Int64 {
        let (q, r) = a.quotientAndRemainder(dividingBy: b)
        return r < 0 ? q - 1 : q
    }
}
