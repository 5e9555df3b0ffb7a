import ArgumentParser
import Foundation
import Network
import Spool

/// Fills a spool with undelivered records, starts the real shipper on it with
/// CloudWatch unreachable (an outage: the backlog stays), and times Prometheus
/// scrapes of its monitoring endpoint; then opens idle connections to that
/// endpoint and counts the shipper's threads before and while they are open.
/// A scrape must cost the same whatever the backlog, and idle clients no thread.
struct ScrapeBenchmark: ParsableCommand {
    static let configuration = CommandConfiguration(commandName: "scrape", abstract: "Metrics scrapes on a spool with a backlog, and idle monitoring connections.")

    @Option(help: "The shipper binary.") var shipper = ".build/release/shipper"
    @Option(help: "The config to run (Listen and Port are replaced by 127.0.0.1 and 0).") var config = "ops/config/cloudwatch.conf"
    @Option(help: "Undelivered records in the spool.") var records = 1_000_000
    @Option(help: "Message bytes per record.") var size = 300
    @Option(help: "Log streams the records are spread over.") var streams = 50
    @Option(help: "Scrapes to time.") var scrapes = 50
    @Option(help: "Idle connections to open to the monitoring port.") var idleConnections = 1_000
    @Option(help: "A folder to keep the filled spool in between runs (filled when short).") var folder: String?

    static let metricsPath = "/api/v1/metrics/prometheus"

    func run() throws {
        let base = folder.map { URL(fileURLWithPath: $0) } ?? FileManager.default.temporaryDirectory.appendingPathComponent("shipper-bench-\(UUID().uuidString)")
        let spoolFolder = base.appendingPathComponent("spool")
        try FileManager.default.createDirectory(at: spoolFolder, withIntermediateDirectories: true)
        defer { if folder == nil { try? FileManager.default.removeItem(at: base) } }
        let filled = try fill(spoolFolder.appendingPathComponent("shipper.sqlite").path)

        // Each idle connection is a descriptor here and one in the shipper, which inherits this limit.
        var limit = rlimit()
        getrlimit(Int32(RLIMIT_NOFILE.rawValue), &limit)
        limit.rlim_cur = limit.rlim_max
        setrlimit(Int32(RLIMIT_NOFILE.rawValue), &limit)

        let httpPort = try Self.freePort()
        let shipperProcess = try BenchmarkShipper(binary: shipper, configPath: config, folder: base, endpoint: "http://127.0.0.1:9",
                                                  service: ["HTTP_Server": "On", "HTTP_Listen": "127.0.0.1", "HTTP_Port": "\(httpPort)"],
                                                  arguments: ["--storage-path", spoolFolder.path])
        defer { shipperProcess.stop() }
        let first = try Self.firstScrape(port: httpPort)
        guard first.contains("shipper_spool_undelivered_records \(filled)") else {
            throw ValidationError("the metrics do not count \(filled) undelivered records:\n\(first)")
        }

        var times: [Double] = []
        for _ in 0..<scrapes {
            let start = DispatchTime.now()
            _ = try Self.get(Self.metricsPath, port: httpPort)
            times.append(Double(DispatchTime.now().uptimeNanoseconds - start.uptimeNanoseconds) / 1e6)
        }

        let pid = shipperProcess.pid
        let before = ProcessMemory.threads(pid: pid)
        var idle: [StreamSocket] = []
        for _ in 0..<idleConnections { idle.append(try StreamSocket.connect(host: "127.0.0.1", port: httpPort)) }
        // Threads while they sit open (the endpoint closes them after its 5 s request deadline): the most seen over 2 s.
        var most = 0
        let until = Date().addingTimeInterval(2)
        while Date() < until {
            most = max(most, ProcessMemory.threads(pid: pid) ?? 0)
            Thread.sleep(forTimeInterval: 0.1)
        }
        let duringStart = DispatchTime.now()
        _ = try Self.get(Self.metricsPath, port: httpPort)
        let during = Double(DispatchTime.now().uptimeNanoseconds - duringStart.uptimeNanoseconds) / 1e6
        for socket in idle { socket.close() }

        let sorted = times.sorted()
        print(String(format: "scrape: %d undelivered records over %d streams, %d scrapes: median %.2f ms, max %.2f ms; threads %@ before %d idle connections, at most %d with them open; a scrape meanwhile %.2f ms",
                     filled, streams, scrapes, sorted[sorted.count / 2], sorted.last ?? 0, before.map(String.init) ?? "n/a", idleConnections, most, during))
    }

    /// Appends records until the spool holds `records` (through the Spool API, many per transaction); returns how many it holds.
    private func fill(_ path: String) throws -> Int {
        let spool = try Spool(configuration: .init(path: path, sync: .normal))
        defer { spool.close() }
        let present = try SpoolInspector(path: path).statistics().undeliveredRecords
        // Lines that differ throughout, so that the spool has its full size.
        let messages = (0..<1_000).map { Array(DockerRecord.text(count: size, seed: $0).utf8) }
        let now = Int64(Date().timeIntervalSince1970 * 1e9)
        var written = present
        while written < records {
            let n = min(20_000, records - written)
            let rows = (0..<n).map { i in
                SpoolRecord(output: .first, logGroup: "/aws/ecs/bench", logStream: "task-\((written + i) % streams)", tag: "out.bench",
                            timeNanoseconds: now + Int64(written + i), message: messages[(written + i) % messages.count])
            }
            try spool.append([SpoolAppend(chunk: nil, records: SpoolRecords(rows))], durable: false)
            written += n
        }
        return written
    }

    /// The first scrape once the endpoint answers (it starts after the inputs).
    private static func firstScrape(port: UInt16) throws -> String {
        let deadline = Date().addingTimeInterval(30)
        while true {
            do {
                return try get(metricsPath, port: port)
            } catch where Date() < deadline {
                Thread.sleep(forTimeInterval: 0.05)
            }
        }
    }

    /// One HTTP/1.0 GET on a fresh connection; the body, read to the end.
    private static func get(_ path: String, port: UInt16) throws -> String {
        let socket = try StreamSocket.connect(host: "127.0.0.1", port: port)
        defer { socket.close() }
        try socket.write(Array("GET \(path) HTTP/1.0\r\nHost: 127.0.0.1\r\n\r\n".utf8))
        var response: [UInt8] = []
        var buffer = [UInt8](repeating: 0, count: 65_536)
        while true {
            let n = try buffer.withUnsafeMutableBytes { try socket.read(into: $0) }
            if n <= 0 { break }
            response.append(contentsOf: buffer[0..<n])
        }
        let text = String(decoding: response, as: UTF8.self)
        guard text.hasPrefix("HTTP/1.1 200") || text.hasPrefix("HTTP/1.0 200"), let body = text.range(of: "\r\n\r\n") else {
            throw ValidationError("GET \(path): \(text.prefix(200))")
        }
        return String(text[body.upperBound...])
    }

    /// A port nothing listens on now, for the monitoring endpoint.
    private static func freePort() throws -> UInt16 {
        let probe = try StreamSocket.listen(host: "127.0.0.1", port: 0)
        defer { probe.close() }
        return probe.localPort
    }
}
