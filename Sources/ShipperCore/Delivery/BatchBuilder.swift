import CloudWatchLogs
import Spool

/// A batch ready to send, and the spool id through which it is delivered once accepted.
struct PreparedBatch {
    /// In chronological order, as PutLogEvents requires.
    var events: [InputLogEvent]
    /// The spool id of each event, in the same order as `events`.
    var recordIDs: [Int64]
    var throughID: Int64
    /// How many messages were cut to `maxEventBytes`.
    var truncated: Int
    /// Records CloudWatch is known to refuse (too old or too far in the future), kept out of the call.
    var refused: [DeadLetter] = []
    /// Records among `refused` whose shape is missing from the spool (spool damage), for the error log.
    var missingShapes: [(record: Int64, shape: Int64)] = []
}

/// Cuts the oldest undelivered records of a stream into one batch within every
/// PutLogEvents rule: byte and event counts, 24-hour span, chronological order.
///
/// The batch is always a prefix of the records in spool order, so that
/// delivering it can advance the stream's cursor to its last id. Records
/// CloudWatch is known to refuse for their age (older than 14 days, more than
/// 2 hours ahead) go to the batch's dead letters instead of into the call, and
/// do not count towards its limits.
enum BatchBuilder {
    static let maxAgeMilliseconds: Int64 = 14 * 86_400_000
    static let maxAheadMilliseconds: Int64 = 2 * 3_600_000

    static func build(_ records: [StoredRecord], limits: BatchLimits, nowMilliseconds now: Int64) -> PreparedBatch? {
        guard !records.isEmpty else { return nil }
        var events: [InputLogEvent] = []
        var ids: [Int64] = []
        var refused: [DeadLetter] = []
        var missingShapes: [(record: Int64, shape: Int64)] = []
        var bytes = 0
        var truncated = 0
        var earliest = Int64.max
        var latest = Int64.min
        var throughID: Int64 = 0
        for record in records {
            if let shape = record.missingShape {
                refused.append(DeadLetter(recordID: record.id, reason: "spool damage: shape \(shape) of record \(record.id) is missing; the message kept is only the record's stored middle"))
                missingShapes.append((record.id, shape))
                throughID = record.id
                continue
            }
            let timestamp = floorDivide(record.timeNanoseconds, 1_000_000)
            if timestamp < now - maxAgeMilliseconds || timestamp > now + maxAheadMilliseconds {
                let reason = timestamp < now ? "tooOld: older than 14 days when sent" : "tooNew: more than 2 hours in the future when sent"
                refused.append(DeadLetter(recordID: record.id, reason: reason))
                throughID = record.id
                continue
            }
            if record.message.count > limits.maxEventBytes && !limits.truncateOversize {
                refused.append(DeadLetter(recordID: record.id, reason: "oversize: \(record.message.count) bytes, more than event_max_size \(limits.maxEventBytes)"))
                throughID = record.id
                continue
            }
            let size = min(record.message.count, limits.maxEventBytes) + limits.perEventOverhead
            let newEarliest = min(earliest, timestamp)
            let newLatest = max(latest, timestamp)
            if !events.isEmpty {
                if events.count == limits.maxEvents || bytes + size > limits.maxBytes || newLatest - newEarliest > limits.maxSpanMilliseconds {
                    break
                }
            }
            var message = record.message
            if message.count > limits.maxEventBytes {
                message = truncateUTF8(message, to: limits.maxEventBytes)
                truncated += 1
            }
            events.append(InputLogEvent(timestamp: timestamp, message: message))
            ids.append(record.id)
            bytes += size
            earliest = newEarliest
            latest = newLatest
            throughID = record.id
        }
        // Stable: records with the same timestamp keep their arrival order.
        let order = events.indices.sorted { (events[$0].timestamp, $0) < (events[$1].timestamp, $1) }
        return PreparedBatch(events: order.map { events[$0] }, recordIDs: order.map { ids[$0] }, throughID: throughID,
                             truncated: truncated, refused: refused, missingShapes: missingShapes)
    }

    /// The dead letters a PutLogEvents answer's `rejectedLogEventsInfo` names.
    /// `tooOldLogEventEndIndex` and `expiredLogEventEndIndex` are exclusive ends,
    /// `tooNewLogEventStartIndex` an inclusive start, as the API reference defines them.
    static func rejected(_ info: [String: Int], in batch: PreparedBatch) -> [DeadLetter] {
        var letters: [Int: String] = [:]
        let count = batch.recordIDs.count
        if let end = info["tooOldLogEventEndIndex"] {
            for i in 0..<min(max(end, 0), count) { letters[i] = "tooOld: rejected by CloudWatch (older than 14 days or the retention)" }
        }
        if let end = info["expiredLogEventEndIndex"] {
            for i in 0..<min(max(end, 0), count) { letters[i] = "expired: rejected by CloudWatch (older than the group's retention)" }
        }
        if let start = info["tooNewLogEventStartIndex"], start < count {
            for i in max(start, 0)..<count { letters[i] = "tooNew: rejected by CloudWatch (more than 2 hours in the future)" }
        }
        return letters.keys.sorted().map { DeadLetter(recordID: batch.recordIDs[$0], reason: letters[$0, default: ""]) }
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
