import ArgumentParser
import Foundation
import Records
import Spool

/// Writes selected records as NDJSON, one object per line:
/// `{["output", ]"log_group", "log_stream", "tag", "time", "time_ns", "message"[, "dead_letter_reason"]}`
/// (`output`, the name of the output that sends the record, from spools of format 4 on).
struct NDJSONWriter {
    let handle: FileHandle

    /// Writes to `path` (created or emptied), or to standard output when there is none.
    init(path: String?) throws {
        guard let path else {
            handle = FileHandle.standardOutput
            return
        }
        _ = FileManager.default.createFile(atPath: path, contents: nil)
        guard let file = FileHandle(forWritingAtPath: path) else { throw ValidationError("cannot write \(path)") }
        handle = file
    }

    func write(_ records: [SelectedRecord]) {
        var out: [UInt8] = []
        out.reserveCapacity(records.reduce(0) { $0 + $1.message.count + 200 })
        for record in records {
            out.append(UInt8(ascii: "{"))
            if let output = record.output {
                out.append(contentsOf: #""output":"#.utf8)
                RecordJSON.appendString(Array(output.name.utf8), to: &out)
                out.append(UInt8(ascii: ","))
            }
            out.append(contentsOf: #""log_group":"#.utf8)
            RecordJSON.appendString(Array(record.logGroup.utf8), to: &out)
            out.append(contentsOf: #","log_stream":"#.utf8)
            RecordJSON.appendString(Array(record.logStream.utf8), to: &out)
            out.append(contentsOf: #","tag":"#.utf8)
            RecordJSON.appendString(Array(record.tag.utf8), to: &out)
            out.append(contentsOf: #","time":""#.utf8)
            out.append(contentsOf: Self.rfc3339(record.timeNanoseconds).utf8)
            out.append(contentsOf: #"","time_ns":"#.utf8)
            out.append(contentsOf: String(record.timeNanoseconds).utf8)
            out.append(contentsOf: #","message":"#.utf8)
            RecordJSON.appendString(record.message, to: &out)
            if let reason = record.deadLetterReason {
                out.append(contentsOf: #","dead_letter_reason":"#.utf8)
                RecordJSON.appendString(Array(reason.utf8), to: &out)
            }
            out.append(contentsOf: "}\n".utf8)
        }
        handle.write(Data(out))
    }

    static func rfc3339(_ nanoseconds: Int64) -> String {
        let seconds = Date(timeIntervalSince1970: TimeInterval(nanoseconds / 1_000_000_000))
        let base = ISO8601DateFormatter().string(from: seconds).dropLast()
        let fraction = String(format: "%09d", Int(nanoseconds % 1_000_000_000))
        return "\(base).\(fraction)Z"
    }
}
