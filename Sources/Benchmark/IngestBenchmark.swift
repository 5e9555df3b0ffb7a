import ArgumentParser
import Foundation
import Network

/// Drives the real `shipper` binary with Docker-shaped frames over loopback,
/// on the tutorial's config with a durable spool, and reports records/s, ack
/// latency and the shipper's peak RSS.
///
/// CloudWatch is pointed at a closed local port so that only ingest runs:
/// every record ends in the spool.
struct IngestBenchmark: ParsableCommand {
    static let configuration = CommandConfiguration(commandName: "ingest", abstract: "Forward ingest into the spool, through the tutorial's filters.")

    @Option(help: "The shipper binary.") var shipper = ".build/release/shipper"
    @Option(help: "The config to run (Listen and Port are replaced by 127.0.0.1 and 0).") var config = "ops/config/cloudwatch.conf"
    @Option(help: "Client connections.") var connections = 8
    @Option(help: "Records in all.") var records = 1_000_000
    @Option(help: "Records per frame: 1 is Message mode as Docker sends, more is Forward mode.") var recordsPerFrame = 1
    @Option(help: "Bytes of the log field.") var logBytes = 200
    @Option(help: "storage.sync: full or normal.") var sync = "full"
    @Flag(help: "Wait for an ack after every frame, as Docker's driver does with fluentd-request-ack.") var ack = false
    @Option(help: "With --ack, the client threads that share the connections, each waiting on a poller as dockerd's Go runtime does (default: the host's cores); 0 gives each connection a thread blocked on its socket.")
    var clientThreads = ProcessInfo.processInfo.activeProcessorCount
    @Option(help: "Log streams: connection c sends as a container of ECS task c modulo this (default: one each, as each container has a connection and a stream of its own).")
    var streams: Int?

    func run() throws {
        let folder = FileManager.default.temporaryDirectory.appendingPathComponent("shipper-bench-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: folder, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: folder) }
        let shipperProcess = try BenchmarkShipper(
            binary: shipper, configPath: config, folder: folder, endpoint: "http://127.0.0.1:9",
            service: ["storage.sync": sync, "storage.path": folder.appendingPathComponent("spool").path])
        defer { shipperProcess.stop() }
        let port = shipperProcess.port

        let perConnection = records / connections
        let streams = max(1, min(self.streams ?? connections, connections))
        let time = Int64(Date().timeIntervalSince1970)
        let latencies = LatencyRecorder()
        let start = Date()
        if ack && clientThreads > 0 {
            try PolledAckingClients(port: port, connections: connections, streams: streams, threads: min(clientThreads, connections),
                                    framesPerConnection: max(1, perConnection / recordsPerFrame), recordsPerFrame: recordsPerFrame,
                                    logBytes: logBytes, time: time).run(latencies: latencies)
        } else {
            try ClientThreads.run(connections, named: "connection") { c in
                try drive(port: port, connection: c, task: c % streams, count: perConnection, time: time, latencies: latencies)
            }
        }
        let seconds = Date().timeIntervalSince(start)
        let threads = ProcessMemory.cpuSecondsByThread(pid: shipperProcess.pid).prefix(3)
        let byThread = threads.isEmpty ? "" : " (" + threads.map { String(format: "%@ %.2f s", $0.name, $0.seconds) }.joined(separator: ", ") + ")"
        let cpu = ProcessMemory.cpuSeconds(pid: shipperProcess.pid).map { String(format: ", shipper CPU %.2f s", $0) + byThread } ?? ""
        let peak = ProcessMemory.peakResident(pid: shipperProcess.pid).map { String(format: "%.1f MiB", Double($0) / 1_048_576) } ?? "n/a"
        let total = perConnection * connections
        let acking = !ack ? "" : clientThreads > 0 ? ", ack per frame, \(min(clientThreads, connections)) polling client threads" : ", ack per frame, a blocking client thread each"
        var line = String(format: "ingest: %d records (%d-byte log, %d per frame%@) over %d connections in %d streams, sync %@: %.2f s, %.0f records/s, shipper peak RSS %@",
                          total, logBytes, recordsPerFrame, acking, connections, streams, sync, seconds, Double(total) / seconds, peak)
        if ack, let mean = latencies.mean, let p50 = latencies.percentile(0.5), let p99 = latencies.percentile(0.99) {
            line += String(format: ", ack latency mean %.3f ms p50 %.2f ms p99 %.2f ms", mean * 1000, p50 * 1000, p99 * 1000)
        }
        print(line + cpu)
    }

    /// Sends `count` records on one connection, as a container of ECS task `task`;
    /// the last frame always asks for an ack, which the shipper sends only once
    /// everything before it is committed.
    private func drive(port: UInt16, connection: Int, task: Int, count: Int, time: Int64, latencies: LatencyRecorder) throws {
        let socket = try StreamSocket.connect(host: "127.0.0.1", port: port)
        defer { socket.shutdown() }
        let frames = max(1, count / recordsPerFrame)
        var ackBuffer = [UInt8](repeating: 0, count: 256)
        if ack {
            var chunked = ChunkedFrames(connection: connection, task: task, recordsPerFrame: recordsPerFrame, logBytes: logBytes, time: time)
            for f in 0..<frames {
                let frame = chunked.frame(f)
                let sent = Date()
                try socket.write(frame)
                try readAck(socket, into: &ackBuffer)
                latencies.add(Date().timeIntervalSince(sent))
            }
            return
        }
        // Without acks a client streams: 256 KiB of frames, each line different, encoded once and
        // written again and again; `frameEnds` keeps where each ends (a short `--log-bytes` makes
        // lines, and so frames, of different lengths). A connection's lines start at its own
        // 4,096th frame: a frame holds ten keys of labels, so 256 KiB never holds that many.
        var slice: [UInt8] = []
        var frameEnds: [Int] = []
        repeat {
            slice += DockerRecord.frame(records: recordsPerFrame, firstSequence: (connection * 4096 + frameEnds.count) * recordsPerFrame,
                                        logBytes: logBytes, time: time, task: task)
            frameEnds.append(slice.count)
        } while slice.count < 256 * 1024
        let framesPerWrite = frameEnds.count
        var written = 0
        while written < frames - 1 {
            let n = min(framesPerWrite, frames - 1 - written)
            if n == framesPerWrite {
                try socket.write(slice)
            } else {
                try socket.write(Array(slice[..<frameEnds[n - 1]]))
            }
            written += n
        }
        try socket.write(DockerRecord.frame(records: recordsPerFrame, firstSequence: 0, logBytes: logBytes, time: time, task: task, chunk: "last-\(connection)"))
        try readAck(socket, into: &ackBuffer)
    }

    private func readAck(_ socket: StreamSocket, into buffer: inout [UInt8]) throws {
        let n = try buffer.withUnsafeMutableBytes { try socket.read(into: $0) }
        guard n > 0 else { throw ValidationError("the shipper closed the connection before acking") }
    }
}

/// Ack latencies from every connection.
// Safe to share: `lock` guards `samples`.
final class LatencyRecorder: @unchecked Sendable {
    private let lock = NSLock()
    private var samples: [Double] = []

    func add(_ seconds: Double) {
        lock.lock()
        samples.append(seconds)
        lock.unlock()
    }

    func add(contentsOf seconds: [Double]) {
        lock.lock()
        samples.append(contentsOf: seconds)
        lock.unlock()
    }

    /// The mean ack latency: what a client waiting for each ack before its next line gets per line.
    var mean: Double? {
        lock.lock()
        defer { lock.unlock() }
        return samples.isEmpty ? nil : samples.reduce(0, +) / Double(samples.count)
    }

    func percentile(_ p: Double) -> Double? {
        lock.lock()
        defer { lock.unlock() }
        guard !samples.isEmpty else { return nil }
        let sorted = samples.sorted()
        return sorted[min(sorted.count - 1, Int(Double(sorted.count) * p))]
    }
}

/// The first failure of any connection.
// Safe to share: `lock` guards `message`.
final class FailureFlag: @unchecked Sendable {
    private let lock = NSLock()
    private(set) var message: String?

    func set(_ text: String) {
        lock.lock()
        if message == nil { message = text }
        lock.unlock()
    }
}
