import Foundation

/// Size and counts of a spool, for `shipper spool stats` and the metrics.
public struct SpoolStatistics: Codable, Sendable {
    public var fileBytes: Int64
    public var walBytes: Int64
    /// Bytes of live pages: what counts against `storage.total_limit_size`.
    public var usedBytes: Int64
    public var records: Int
    public var undeliveredRecords: Int
    public var deadLetters: Int
    public var streams: Int
}

/// One stream's backlog, for `shipper status`.
public struct StreamStatus: Codable, Sendable {
    /// The output that sends the stream; nil on a spool before format 4 (an older shipper on it).
    public var output: String?
    public var logGroup: String
    public var logStream: String
    public var undeliveredRecords: Int
    public var undeliveredBytes: Int
    /// The time (nanoseconds since the epoch) of the first undelivered record stored, the next to
    /// be sent: one index step per stream, where the smallest time of all would take a scan.
    public var oldestUndeliveredNanoseconds: Int64?
    /// When a batch of this stream was last delivered (Unix seconds), until the idle stream is pruned.
    public var lastDeliveredAt: Int64?
    public var deadLetters: Int
}

/// Which spooled records a replay or an export takes.
public struct RecordSelection: Sendable {
    public enum Source: String, Sendable, CaseIterable {
        case undelivered, delivered, all
        case deadLetters = "dead-letters"
    }

    public var source: Source
    /// Glob patterns (`*` wildcards) on the output's name, the log group, log stream and tag.
    public var output: String?
    public var group: String?
    public var stream: String?
    public var tag: String?
    /// Record time bounds, nanoseconds since the epoch, inclusive.
    public var since: Int64?
    public var until: Int64?

    public init(source: Source = .all, output: String? = nil, group: String? = nil, stream: String? = nil, tag: String? = nil,
                since: Int64? = nil, until: Int64? = nil) {
        self.source = source
        self.output = output
        self.group = group
        self.stream = stream
        self.tag = tag
        self.since = since
        self.until = until
    }
}

/// A record as a replay or an export sees it.
public struct SelectedRecord: Sendable {
    public var id: Int64
    /// The output that sends the record's stream; nil on a spool before format 4.
    public var output: SpoolOutput?
    public var logGroup: String
    public var logStream: String
    public var tag: String
    public var timeNanoseconds: Int64
    public var message: [UInt8]
    /// Why CloudWatch refused it, for dead letters.
    public var deadLetterReason: String?
}

/// Reads a spool without taking part in ingest or delivery: the operator
/// tools use it while the shipper runs (WAL lets readers beside the writer) or
/// while it is stopped. It writes nothing but what `vacuum` asks for.
public final class SpoolInspector {
    private let database: SQLiteDatabase
    public let path: String

    public init(path: String) throws {
        guard FileManager.default.fileExists(atPath: path) else {
            throw SpoolError.database(SQLiteError(code: 14, message: "no spool at \(path)", context: "opening \(path)"))
        }
        self.path = path
        do {
            database = try SQLiteDatabase(path: path, create: false)
        } catch let error as SQLiteError {
            throw SpoolError.database(error)
        }
    }

    /// Read from the streams' counters: the same cost at ten records as at ten million.
    public func statistics() throws -> SpoolStatistics {
        try run {
            let size = { (file: String) -> Int64 in
                ((try? FileManager.default.attributesOfItem(atPath: file)[.size]) as? NSNumber)?.int64Value ?? 0
            }
            let totals = try database.prepare("""
                SELECT coalesce(sum(records), 0), coalesce(sum(pending_records), 0), coalesce(sum(dead_letters), 0), count(*) FROM \(try streams())
                """)
            _ = try totals.step()
            return SpoolStatistics(
                fileBytes: size(path), walBytes: size(path + "-wal"), usedBytes: try database.usedBytes(),
                records: Int(totals.int64(0)), undeliveredRecords: Int(totals.int64(1)), deadLetters: Int(totals.int64(2)), streams: Int(totals.int64(3)))
        }
    }

    /// Every stream with a backlog, dead letters or a delivery not yet pruned:
    /// its counters, and one index step (or a look through the short unindexed
    /// tail) for its first undelivered record.
    public func streamStatus() throws -> [StreamStatus] {
        try run {
            let statement = try database.prepare("""
                SELECT s.log_group, s.log_stream, s.pending_records, s.pending_bytes,
                       CASE WHEN s.pending_records > 0 THEN \(try firstUndeliveredTime()) END,
                       s.last_delivered_at, s.dead_letters, s.output_name
                FROM \(try streams()) s
                WHERE s.pending_records > 0 OR s.dead_letters > 0 OR s.last_delivered_at IS NOT NULL
                ORDER BY s.output, s.log_group, s.log_stream
                """)
            var result: [StreamStatus] = []
            while try statement.step() {
                result.append(StreamStatus(
                    output: statement.isNull(7) ? nil : statement.text(7), logGroup: statement.text(0), logStream: statement.text(1),
                    undeliveredRecords: Int(statement.int64(2)), undeliveredBytes: Int(statement.int64(3)),
                    oldestUndeliveredNanoseconds: statement.isNull(4) ? nil : statement.int64(4),
                    lastDeliveredAt: statement.isNull(5) ? nil : statement.int64(5),
                    deadLetters: Int(statement.int64(6))))
            }
            return result
        }
    }

    /// The time of stream `s`'s first undelivered record: through the index, or
    /// in the tail above it (`StreamIndex`); a file older than format 6 has
    /// SQLite's index of records by stream instead.
    private func firstUndeliveredTime() throws -> String {
        guard try database.integer("PRAGMA user_version") >= SpoolSchema.streamIndexVersion else {
            return "(SELECT r.time_ns FROM records r WHERE r.stream_id = s.id AND r.id > s.delivered_through ORDER BY r.id LIMIT 1)"
        }
        let (indexed, tail) = (StreamIndex.indexedRecords(ofStream: "s.id", after: "s.delivered_through", columns: "r.time_ns"),
                               StreamIndex.tailRecords(ofStream: "s.id", after: "s.delivered_through", columns: "r.time_ns"))
        return "coalesce((SELECT time_ns FROM (\(indexed) ORDER BY i.id LIMIT 1)), (SELECT time_ns FROM (\(tail) ORDER BY r.id LIMIT 1)))"
    }

    /// The streams with their counters and output. A spool of format 3 (an
    /// older shipper still running on it, not yet upgraded) has no outputs,
    /// and one of format 2 no counters either: they are counted from its
    /// records then, as that shipper's own status did.
    private func streams() throws -> String {
        let version = try database.integer("PRAGMA user_version")
        guard version < SpoolSchema.streamOutputsVersion else { return "streams" }
        guard version < SpoolSchema.streamCountersVersion else { return "(SELECT *, NULL AS output, NULL AS output_name FROM streams)" }
        return """
            (SELECT s.id, NULL AS output, NULL AS output_name, s.log_group, s.log_stream, s.delivered_through,
                    (SELECT count(*) FROM records r WHERE r.stream_id = s.id) AS records,
                    (SELECT count(*) FROM records r WHERE r.stream_id = s.id AND r.id > s.delivered_through) AS pending_records,
                    (SELECT coalesce(sum(\(SpoolSchema.messageLength(of: "r"))), 0) FROM records r
                     WHERE r.stream_id = s.id AND r.id > s.delivered_through) AS pending_bytes,
                    (SELECT count(*) FROM dead_letters l WHERE l.stream_id = s.id) AS dead_letters,
                    (SELECT max(d.delivered_at) FROM deliveries d WHERE d.stream_id = s.id) AS last_delivered_at
             FROM streams s)
            """
    }

    /// Up to `limit` selected records with an id above `after`, in id order (call again with the last id to page).
    public func select(_ selection: RecordSelection, after: Int64 = 0, limit: Int = 5_000) throws -> [SelectedRecord] {
        try run {
            let (sql, bindings) = try query(selection, columns: true)
            let statement = try database.prepare(sql + " AND id > ? ORDER BY id LIMIT ?")
            let index = try bind(bindings, to: statement)
            try statement.bind(index, after)
            try statement.bind(index + 1, Int64(limit))
            var records: [SelectedRecord] = []
            while try statement.step() {
                records.append(SelectedRecord(id: statement.int64(0),
                                              output: statement.isNull(7) ? nil : SpoolOutput(index: Int(statement.int64(7)), name: statement.text(8)),
                                              logGroup: statement.text(1), logStream: statement.text(2),
                                              tag: statement.text(3), timeNanoseconds: statement.int64(4), message: statement.blob(5),
                                              deadLetterReason: statement.isNull(6) ? nil : statement.text(6)))
            }
            return records
        }
    }

    /// Binds a selection's parameters in order; returns the index of the next parameter.
    @discardableResult
    private func bind(_ bindings: [Binding], to statement: SQLiteStatement) throws -> Int32 {
        var index: Int32 = 1
        for binding in bindings {
            switch binding {
            case .text(let text): try statement.bind(index, text)
            case .integer(let value): try statement.bind(index, value)
            }
            index += 1
        }
        return index
    }

    /// Calls `body` with every selected record, a page at a time, in id order.
    public func forEachPage(_ selection: RecordSelection, _ body: ([SelectedRecord]) throws -> Void) throws {
        var after: Int64 = 0
        while true {
            let page = try select(selection, after: after)
            guard let last = page.last else { return }
            try body(page)
            after = last.id
        }
    }

    /// How many records `selection` takes.
    public func count(_ selection: RecordSelection) throws -> Int {
        try run {
            let (sql, bindings) = try query(selection, columns: false)
            let statement = try database.prepare(sql)
            try bind(bindings, to: statement)
            return try statement.step() ? Int(statement.int64(0)) : 0
        }
    }

    /// Rebuilds the file to give freed pages back to the disk. Needs the shipper stopped
    /// (or waits for it); it fails with a busy error rather than blocking ingest for long.
    public func vacuum() throws {
        try run { try database.execute("VACUUM") }
    }

    private enum Binding {
        case text(String)
        case integer(Int64)
    }

    /// The selection as one query over records (or dead letters) with their stream.
    private func query(_ selection: RecordSelection, columns: Bool) throws -> (String, [Binding]) {
        var conditions: [String] = []
        var bindings: [Binding] = []
        let source: String
        let streams = try database.integer("PRAGMA user_version") < SpoolSchema.streamOutputsVersion
            ? "(SELECT *, NULL AS output, NULL AS output_name FROM streams)" : "streams"
        let stream = "s.log_group AS log_group, s.log_stream AS log_stream, s.output AS output, s.output_name AS output_name"
        switch selection.source {
        case .deadLetters:
            source = "SELECT d.id AS id, \(stream), d.tag AS tag, d.time_ns AS time_ns, d.message AS message, d.reason AS reason FROM dead_letters d JOIN \(streams) s ON s.id = d.stream_id"
        case .undelivered, .delivered, .all:
            source = "SELECT r.id AS id, \(stream), r.tag AS tag, r.time_ns AS time_ns, \(SpoolSchema.message(of: "r")) AS message, NULL AS reason, r.id > s.delivered_through AS pending FROM records r JOIN \(streams) s ON s.id = r.stream_id"
            if selection.source == .undelivered { conditions.append("pending") }
            if selection.source == .delivered { conditions.append("NOT pending") }
        }
        if let output = selection.output { conditions.append("output_name GLOB ?"); bindings.append(.text(output)) }
        if let group = selection.group { conditions.append("log_group GLOB ?"); bindings.append(.text(group)) }
        if let stream = selection.stream { conditions.append("log_stream GLOB ?"); bindings.append(.text(stream)) }
        if let tag = selection.tag { conditions.append("tag GLOB ?"); bindings.append(.text(tag)) }
        if let since = selection.since { conditions.append("time_ns >= ?"); bindings.append(.integer(since)) }
        if let until = selection.until { conditions.append("time_ns <= ?"); bindings.append(.integer(until)) }
        let select = columns ? "SELECT id, log_group, log_stream, tag, time_ns, message, reason, output, output_name" : "SELECT count(*)"
        let filter = conditions.isEmpty ? "1" : conditions.joined(separator: " AND ")
        return ("\(select) FROM (\(source)) WHERE \(filter)", bindings)
    }

    private func run<T>(_ body: () throws -> T) throws -> T {
        do {
            return try body()
        } catch let error as SQLiteError {
            throw SpoolError.database(error)
        }
    }
}
