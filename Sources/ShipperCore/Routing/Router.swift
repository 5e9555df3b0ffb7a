import Ingest
import Records
import Spool

/// Turns filtered records into spool records: picks the outputs whose `Match`
/// fits the tag, names the log group and stream, and renders the message.
/// A record two outputs match is stored once for each, in that output's
/// stream, as Fluent Bit sends it to both.
///
/// Routing happens once, at ingest, so the spool holds exactly what will be
/// sent and the uploaders never look inside a record.
struct Router: Sendable {
    /// Read for every record by every event loop: lent without a count (`SharedObjects`).
    private let routes: SharedObjects<Route>

    init(outputs: [CloudWatchOutputSettings]) {
        routes = SharedObjects(outputs.map(Route.init))
    }

    /// The names one caller made last, one set per output. A connection routes
    /// runs of records from one container, which get the same group and stream:
    /// with these they share one string each instead of making their own.
    struct Names {
        fileprivate var perRoute: [Route.Names]
    }

    func makeNames() -> Names {
        Names(perRoute: routes.indices.map { _ in Route.Names() })
    }

    /// Appends a spool record per matching output; returns `false` when no output matches the tag.
    func route(_ tagged: TaggedRecord, into out: inout SpoolRecords, names: inout Names) -> Bool {
        var matched = false
        for index in routes.indices {
            routes.withElement(at: index) { route in
                guard names.perRoute[index].matches(route, tagged.tag) else { return }
                matched = true
                out.append(output: route.output, logGroup: route.logGroup(for: tagged.record, names: &names.perRoute[index]),
                           logStream: route.logStream(for: tagged, names: &names.perRoute[index]),
                           tag: tagged.tag, timeNanoseconds: tagged.time.unixNanoseconds) {
                    route.writeMessage(of: tagged.record, into: &$0)
                }
            }
        }
        return matched
    }

    /// What routing needs of one output, read for every record: a class, so
    /// that looking at it copies none of the settings' strings, and lent
    /// without a count (the event loops would contend on it).
    fileprivate final class Route: Sendable {
        let output: SpoolOutput
        let match: TagPattern
        let logGroupTemplate: RecordTemplate?
        let logGroupName: String
        let logStreamTemplate: RecordTemplate?
        let logStreamName: String?
        let logStreamPrefix: String
        let logKey: [UInt8]?

        init(_ output: CloudWatchOutputSettings) {
            self.output = output.output
            match = output.match
            logGroupTemplate = output.logGroupTemplate
            logGroupName = output.logGroupName
            logStreamTemplate = output.logStreamTemplate
            logStreamName = output.logStreamName
            logStreamPrefix = output.logStreamPrefix ?? ""
            logKey = output.logKey.map { Array($0.utf8) }
        }

        struct Names {
            var group = TemplateMemo()
            var stream = TemplateMemo()
            var prefixed: (tag: String, stream: String)?
            var match: (tag: String, matches: Bool)?

            /// Whether the output's `Match` takes `tag`, tried once per run of one tag.
            mutating func matches(_ route: Route, _ tag: String) -> Bool {
                if let match, match.tag == tag { return match.matches }
                let matches = route.match.matches(tag)
                match = (tag, matches)
                return matches
            }
        }

        func logGroup(for record: LogRecord, names: inout Names) -> String {
            if let logGroupTemplate, let name = logGroupTemplate.render(record, memo: &names.group), !name.isEmpty {
                return name
            }
            return logGroupName
        }

        func logStream(for tagged: TaggedRecord, names: inout Names) -> String {
            if let logStreamTemplate, let name = logStreamTemplate.render(tagged.record, memo: &names.stream), !name.isEmpty {
                return name
            }
            if let logStreamName { return logStreamName }
            if let last = names.prefixed, last.tag == tagged.tag { return last.stream }
            let stream = logStreamPrefix + tagged.tag
            names.prefixed = (tagged.tag, stream)
            return stream
        }

        func writeMessage(of record: LogRecord, into out: inout [UInt8]) {
            if let logKey, let index = record.index(of: logKey) {
                if let bytes = record.stringBytes(ofField: index) {
                    out.append(contentsOf: bytes)
                } else {
                    RecordJSON.encodeValue(ofField: index, in: record, into: &out)
                }
                return
            }
            RecordJSON.encode(record, into: &out)
        }
    }
}
