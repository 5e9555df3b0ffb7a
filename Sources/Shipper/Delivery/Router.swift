import Ingest
import Spool

/// Turns filtered records into spool records: picks the outputs whose `Match`
/// fits the tag, names the log group and stream, and renders the message.
///
/// Routing happens once, at ingest, so the spool holds exactly what will be
/// sent and the uploaders never look inside a record.
struct Router: Sendable {
    let outputs: [CloudWatchOutputSettings]

    /// Appends a spool record per matching output; returns `false` when no output matches the tag.
    func route(_ tagged: TaggedRecord, into out: inout [SpoolRecord]) -> Bool {
        var matched = false
        for output in outputs where output.match.matches(tagged.tag) {
            matched = true
            out.append(SpoolRecord(
                logGroup: logGroup(for: tagged, output),
                logStream: logStream(for: tagged, output),
                tag: tagged.tag,
                timeNanoseconds: tagged.time.unixNanoseconds,
                message: message(for: tagged.record, output)))
        }
        return matched
    }

    func logGroup(for tagged: TaggedRecord, _ output: CloudWatchOutputSettings) -> String {
        if let template = output.logGroupTemplate, let name = template.render(tagged.record), !name.isEmpty {
            return name
        }
        return output.logGroupName
    }

    func logStream(for tagged: TaggedRecord, _ output: CloudWatchOutputSettings) -> String {
        if let template = output.logStreamTemplate, let name = template.render(tagged.record), !name.isEmpty {
            return name
        }
        if let name = output.logStreamName { return name }
        return (output.logStreamPrefix ?? "") + tagged.tag
    }

    func message(for record: LogRecord, _ output: CloudWatchOutputSettings) -> [UInt8] {
        if let key = output.logKey, let index = record.index(of: Array(key.utf8)) {
            if let bytes = record.stringBytes(ofField: index) { return Array(bytes) }
            return RecordJSON.encodeValue(ofField: index, in: record)
        }
        return RecordJSON.encode(record)
    }
}
