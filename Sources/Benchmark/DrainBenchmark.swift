import ArgumentParser
import Foundation
import Spool

/// Fills a spool, then times the real shipper draining it to an endpoint that
/// answers at once: events/s, MB/s and the shipper's CPU time per million events.
struct DrainBenchmark: ParsableCommand {
    static let configuration = CommandConfiguration(commandName: "drain", abstract: "Delivery throughput from a full spool.")

    @Option(help: "The shipper binary.") var shipper = ".build/release/shipper"
    @Option(help: "The config to run (Listen and Port are replaced by 127.0.0.1 and 0).") var config = "ops/config/cloudwatch.conf"
    @Option(help: "Events to drain.") var records = 1_000_000
    @Option(help: "Message bytes per event.") var size = 300
    @Option(help: "Log streams (spread over the log groups).") var streams = 8
    @Option(help: "Log groups.") var groups = 2

    func run() throws {
        let base = FileManager.default.temporaryDirectory.appendingPathComponent("shipper-bench-\(UUID().uuidString)")
        let spoolFolder = base.appendingPathComponent("spool")
        try FileManager.default.createDirectory(at: spoolFolder, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: base) }

        let spool = try Spool(configuration: .init(path: spoolFolder.appendingPathComponent("shipper.sqlite").path, sync: .normal))
        // Lines that differ throughout, as logs do: identical ones would let the spool store almost nothing of them.
        let messages = (0..<1_000).map { Array(DockerRecord.text(count: size, seed: $0).utf8) }
        let now = Int64(Date().timeIntervalSince1970 * 1e9)
        var written = 0
        while written < records {
            let n = min(10_000, records - written)
            let rows = (0..<n).map { i -> SpoolRecord in
                let k = written + i
                return SpoolRecord(output: .first, logGroup: "/aws/ecs/bench-\(k % streams % groups)", logStream: "task-\(k % streams)", tag: "out.bench",
                                   timeNanoseconds: now + Int64(k), message: messages[k % messages.count])
            }
            try spool.append([SpoolAppend(chunk: nil, records: SpoolRecords(rows))], durable: false)
            written += n
        }
        spool.close()

        let endpoint = try InstantCloudWatch()
        defer { endpoint.stop() }
        let start = Date()
        let shipperProcess = try BenchmarkShipper(binary: shipper, configPath: config, folder: base, endpoint: "http://127.0.0.1:\(endpoint.port)",
                                                  service: ["Flush": "0.2"], arguments: ["--storage-path", spoolFolder.path])
        defer { shipperProcess.stop() }
        let deadline = start.addingTimeInterval(600)
        while endpoint.eventCount < records {
            guard Date() < deadline, shipperProcess.process.isRunning else { throw ValidationError("drained \(endpoint.eventCount) of \(records) events") }
            Thread.sleep(forTimeInterval: 0.01)
        }
        let seconds = Date().timeIntervalSince(start)
        let cpu = ProcessMemory.cpuSeconds(pid: shipperProcess.pid).map { String(format: "%.2f s CPU per million events", $0 / Double(records) * 1e6) } ?? "CPU n/a"
        let peak = ProcessMemory.peakResident(pid: shipperProcess.pid).map { String(format: "%.1f MiB", Double($0) / 1_048_576) } ?? "n/a"
        print(String(format: "drain: %d events of %d bytes over %d streams in %d groups, %d calls: %.2f s, %.0f events/s, %.1f MB/s, %@, shipper peak RSS %@",
                     records, size, streams, groups, endpoint.callCount, seconds, Double(records) / seconds, Double(records * size) / seconds / 1e6, cpu, peak))
    }
}
