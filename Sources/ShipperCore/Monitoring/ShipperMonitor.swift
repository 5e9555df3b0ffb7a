import Foundation
import Ingest
import Spool

/// Everything an operator can ask a running shipper, gathered from the inputs,
/// the spool and the uploaders: the answers behind the monitoring endpoint.
// Safe to share: `lock` serialises answers (and the inspector's connection); every other field is immutable.
final class ShipperMonitor: @unchecked Sendable {
    let servers: [ForwardServer]
    let budget: DecodeBudget
    let receiveBudget: DecodeBudget
    let sink: SpoolSink
    let spool: Spool
    let inspector: SpoolInspector
    let delivery: DeliveryMetrics
    let slots: DeliverySlots
    /// The configured outputs' names, in order: each has its metrics, zero until it sends.
    let outputNames: [String]
    /// A stream failing for longer than this makes `/api/v1/health` unhealthy.
    let stuckAfter: TimeInterval
    private let lock = NSLock()

    init(servers: [ForwardServer], budget: DecodeBudget, receiveBudget: DecodeBudget, sink: SpoolSink, spool: Spool, inspector: SpoolInspector, delivery: DeliveryMetrics, slots: DeliverySlots,
         outputNames: [String], stuckAfter: TimeInterval = 300) {
        self.slots = slots
        self.outputNames = outputNames
        self.servers = servers
        self.budget = budget
        self.receiveBudget = receiveBudget
        self.sink = sink
        self.spool = spool
        self.inspector = inspector
        self.delivery = delivery
        self.stuckAfter = stuckAfter
    }

    func respond(_ path: String) -> MonitoringServer.Response {
        switch path {
        case "/api/v1/health":
            let failing = delivery.longestFailure()
            if failing > stuckAfter {
                return .init(status: 500, contentType: "text/plain", body: Array("error: delivery failing for \(Int(failing)) s\n".utf8))
            }
            return .init(status: 200, contentType: "text/plain", body: Array("ok\n".utf8))
        case "/api/v1/metrics/prometheus":
            return .init(status: 200, contentType: "text/plain; version=0.0.4", body: Array(prometheus().utf8))
        case "/api/v1/status":
            do {
                return .init(status: 200, contentType: "application/json", body: try status())
            } catch {
                return .init(status: 500, contentType: "text/plain", body: Array("\(error)\n".utf8))
            }
        default:
            return .init(status: 404, contentType: "text/plain", body: Array("not found\n".utf8))
        }
    }

    /// The status report: every stream's backlog from the spool, with what the uploaders remember.
    func status() throws -> [UInt8] {
        let health = delivery.snapshot.streams
        let report = try serialized { try inspector.streamStatus() }.map { stream in
            StatusReport.Stream(stream, health: stream.output.flatMap { health[.init(output: $0, logGroup: stream.logGroup, logStream: stream.logStream)] })
        }
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys]
        encoder.dateEncodingStrategy = .iso8601
        return Array(try encoder.encode(StatusReport(backpressure: spool.backpressureReason, streams: report)))
    }

    func prometheus() -> String {
        var text = PrometheusText()
        let (accepted, unmatched) = sink.counts
        for (index, server) in servers.enumerated() {
            let stats = server.statistics.snapshot
            let name = "forward.\(index)"
            text.add("shipper_input_bytes_total", "Bytes received by the input.", .counter, ["name": name], Double(stats.bytesReceived))
            text.add("shipper_input_connections", "Open client connections.", .gauge, ["name": name], Double(stats.activeConnections))
            text.add("shipper_input_connections_total", "Client connections accepted.", .counter, ["name": name], Double(stats.acceptedConnections))
            text.add("shipper_input_refused_connections_total", "Connections closed for bad input.", .counter, ["name": name], Double(stats.refusedConnections))
        }
        let pending = budget.snapshot
        text.add("shipper_input_pending_bytes", "Bytes decoded by all inputs and not yet handed to the spool.", .gauge, [:], Double(pending.inUse))
        text.add("shipper_input_pending_bytes_limit", "ingest.max_pending_bytes: past it, connections wait for room.", .gauge, [:], Double(pending.limit))
        text.add("shipper_input_budget_waits_total", "Times a connection waited for room in ingest.max_pending_bytes.", .counter, [:], Double(pending.waits))
        text.add("shipper_input_budget_waiting", "Connections waiting for room in ingest.max_pending_bytes now.", .gauge, [:], Double(pending.waiting))
        let receiving = receiveBudget.snapshot
        text.add("shipper_input_receive_bytes", "Bytes the receive buffers of all inputs grew past their first size, for frames still arriving.", .gauge, [:], Double(receiving.inUse))
        text.add("shipper_input_receive_bytes_limit", "ingest.max_receive_bytes: past it, connections inside a large frame wait for room.", .gauge, [:], Double(receiving.limit))
        text.add("shipper_input_receive_budget_waits_total", "Times a connection waited for room in ingest.max_receive_bytes.", .counter, [:], Double(receiving.waits))
        text.add("shipper_input_receive_budget_waiting", "Connections waiting for room in ingest.max_receive_bytes now.", .gauge, [:], Double(receiving.waiting))
        text.add("shipper_input_records_total", "Records taken in, after filters.", .counter, [:], Double(accepted))
        text.add("shipper_dropped_records_total", "Records that matched no output.", .counter, ["reason": "no_output"], Double(unmatched))
        text.add("shipper_duplicate_frames_total", "Frames resent by clients and acked again without a second copy.", .counter, [:], Double(spool.duplicateFrames))
        let counters = delivery.snapshot.counters
        // One series per output, named as Fluent Bit names it (`Alias`, else cloudwatch_logs.N).
        let series = { (add: (_ labels: [String: String], _ counters: DeliveryMetrics.Counters) -> Void) in
            for name in self.outputNames { add(["name": name], counters[name] ?? DeliveryMetrics.Counters()) }
        }
        series { text.add("shipper_output_records_total", "Events CloudWatch accepted.", .counter, $0, Double($1.events)) }
        series { text.add("shipper_output_bytes_total", "Message bytes CloudWatch accepted.", .counter, $0, Double($1.bytes)) }
        series { text.add("shipper_output_retries_total", "Failed calls that were retried.", .counter, $0, Double($1.retries)) }
        series { text.add("shipper_output_throttles_total", "Calls CloudWatch throttled.", .counter, $0, Double($1.throttles)) }
        series { text.add("shipper_output_rejected_records_total", "Events refused for good, moved to dead letters.", .counter, $0, Double($1.rejected)) }
        series { text.add("shipper_output_truncated_records_total", "Events cut to the per-event limit.", .counter, $0, Double($1.truncated)) }
        // The batch slots are the process's, shared by every output: no output label.
        let (inFlight, waiting) = slots.usage
        text.add("shipper_output_batches_in_flight", "Batches read from the spool and not yet sent (at most \(UploadSupervisor.batchesInFlight) for the whole process, all outputs).",
                 .gauge, [:], Double(inFlight))
        text.add("shipper_output_streams_waiting", "Streams with records to send, waiting for one of those batch slots.", .gauge, [:], Double(waiting))
        text.add("shipper_backpressure", "1 while ingest is paused because the spool or its disk is full.", .gauge, [:], spool.backpressureReason == nil ? 0 : 1)
        for reason in spool.backpressureReasons {
            text.add("shipper_backpressure_reason", "1 for each reason ingest is paused for.", .gauge, ["reason": reason], 1)
        }
        if let available = spool.diskAvailableBytes {
            text.add("shipper_spool_disk_available_bytes", "What the spool can still grow by: free disk space plus its free pages, less a released headroom.",
                     .gauge, [:], Double(available))
        }
        text.add("shipper_spool_headroom_held", "1 while the headroom file that keeps bookkeeping working on a full disk is in place.", .gauge, [:],
                 spool.headroomHeld ? 1 : 0)
        if let stats = try? serialized({ try inspector.statistics() }) {
            text.add("shipper_spool_bytes", "Live bytes in the spool database.", .gauge, [:], Double(stats.usedBytes))
            text.add("shipper_spool_records", "Records in the spool, delivered or not.", .gauge, [:], Double(stats.records))
            text.add("shipper_spool_undelivered_records", "Records not yet accepted by CloudWatch.", .gauge, [:], Double(stats.undeliveredRecords))
            text.add("shipper_spool_dead_letters", "Records CloudWatch refused for good.", .gauge, [:], Double(stats.deadLetters))
        }
        if let streams = try? serialized({ try inspector.streamStatus() }) {
            let now = Date().timeIntervalSince1970
            struct GroupOfOutput: Hashable { let output: String; let group: String }
            let oldest = Dictionary(grouping: streams.compactMap { s in
                s.oldestUndeliveredNanoseconds.map { (GroupOfOutput(output: s.output ?? "", group: s.logGroup), $0) }
            }, by: \.0).mapValues { $0.map(\.1).min() ?? 0 }
            for (key, nanoseconds) in oldest.sorted(by: { ($0.key.output, $0.key.group) < ($1.key.output, $1.key.group) }) {
                text.add("shipper_oldest_undelivered_age_seconds", "Age of the oldest undelivered record of an output's log group.", .gauge,
                         ["name": key.output, "log_group": key.group], max(0, now - Double(nanoseconds) / 1e9))
            }
        }
        return text.rendered
    }

    /// The inspector's connection is used by one request at a time.
    private func serialized<T>(_ body: () throws -> T) throws -> T {
        lock.lock()
        defer { lock.unlock() }
        return try body()
    }
}

/// What `/api/v1/status` answers and `shipper status` prints.
public struct StatusReport: Codable {
    public struct Stream: Codable {
        /// The output that sends the stream (`Alias`, else cloudwatch_logs.N); nil from a spool before format 4.
        public var output: String?
        public var logGroup: String
        public var logStream: String
        public var undeliveredRecords: Int
        public var undeliveredBytes: Int
        public var oldestUndelivered: Date?
        public var lastDelivered: Date?
        public var lastError: String?
        public var lastErrorAt: Date?
        public var deadLetters: Int

        /// A stream as the spool alone tells it (`shipper status` without a running shipper).
        public init(_ status: StreamStatus) {
            self.init(status, health: nil)
        }

        init(_ status: StreamStatus, health: DeliveryMetrics.StreamHealth?) {
            output = status.output
            logGroup = status.logGroup
            logStream = status.logStream
            undeliveredRecords = status.undeliveredRecords
            undeliveredBytes = status.undeliveredBytes
            oldestUndelivered = status.oldestUndeliveredNanoseconds.map { Date(timeIntervalSince1970: Double($0) / 1e9) }
            lastDelivered = health?.lastSuccess ?? status.lastDeliveredAt.map { Date(timeIntervalSince1970: Double($0)) }
            lastError = health?.lastError
            lastErrorAt = health?.lastErrorAt
            deadLetters = status.deadLetters
        }
    }

    public var backpressure: String?
    public var streams: [Stream]

    public init(backpressure: String?, streams: [Stream]) {
        self.backpressure = backpressure
        self.streams = streams
    }
}

/// Prometheus' text exposition format, one HELP and TYPE per metric name.
struct PrometheusText {
    enum Kind: String { case counter, gauge }
    private var described: Set<String> = []
    private(set) var rendered = ""

    mutating func add(_ name: String, _ help: String, _ kind: Kind, _ labels: [String: String], _ value: Double) {
        if described.insert(name).inserted {
            rendered += "# HELP \(name) \(help)\n# TYPE \(name) \(kind.rawValue)\n"
        }
        let labelText = labels.isEmpty ? "" : "{" + labels.sorted { $0.key < $1.key }.map { key, value in
            "\(key)=\"\(value.replacingOccurrences(of: "\\", with: "\\\\").replacingOccurrences(of: "\"", with: "\\\"").replacingOccurrences(of: "\n", with: "\\n"))\""
        }.joined(separator: ",") + "}"
        let number = value == value.rounded() && abs(value) < 1e15 ? String(Int64(value)) : String(value)
        rendered += "\(name)\(labelText) \(number)\n"
    }
}
