import ArgumentParser
import Foundation
import Spool

/// Times how long the real shipper takes, on a spool already holding many
/// undelivered records, from launch until its forward input accepts connections.
struct StartupBenchmark: ParsableCommand {
    static let configuration = CommandConfiguration(commandName: "startup", abstract: "Start-up time on a large spool.")

    @Option(help: "The shipper binary.") var shipper = ".build/release/shipper"
    @Option(help: "The config to run (Listen and Port are replaced by 127.0.0.1 and 0).") var config = "ops/config/cloudwatch.conf"
    @Option(help: "Records in the spool.") var records = 10_000_000
    @Option(help: "Message bytes per record.") var size = 300
    @Option(help: "A folder to keep the filled spool in between runs (filled when empty).") var folder: String?

    func run() throws {
        let base = folder.map { URL(fileURLWithPath: $0) } ?? FileManager.default.temporaryDirectory.appendingPathComponent("shipper-bench-\(UUID().uuidString)")
        let spoolFolder = base.appendingPathComponent("spool")
        try FileManager.default.createDirectory(at: spoolFolder, withIntermediateDirectories: true)
        defer { if folder == nil { try? FileManager.default.removeItem(at: base) } }
        let spoolPath = spoolFolder.appendingPathComponent("shipper.sqlite").path

        let spool = try Spool(configuration: .init(path: spoolPath, sync: .normal))
        let present = try spool.recordCount()
        if present < records {
            // Lines that differ throughout, so that the spool has its full size.
            let messages = (0..<1_000).map { Array(DockerRecord.text(count: self.size, seed: $0).utf8) }
            var written = present
            while written < records {
                let n = min(10_000, records - written)
                let rows = (0..<n).map { i in
                    SpoolRecord(output: .first, logGroup: "/aws/ecs/bench", logStream: "task-\((written + i) % 50)", tag: "out.bench", timeNanoseconds: Int64(written + i), message: messages[(written + i) % messages.count])
                }
                try spool.append([SpoolAppend(chunk: Array("fill-\(written)".utf8), records: SpoolRecords(rows))], durable: false)
                written += n
            }
        }
        spool.close()

        let start = Date()
        let shipperProcess = try BenchmarkShipper(binary: shipper, configPath: config, folder: base, endpoint: "http://127.0.0.1:9",
                                                  service: [:], arguments: ["--storage-path", spoolFolder.path])
        defer { shipperProcess.stop() }
        let seconds = Date().timeIntervalSince(start)
        let size = (try? FileManager.default.attributesOfItem(atPath: spoolPath)[.size] as? Int).map { $0 / 1_048_576 } ?? 0
        print(String(format: "startup: %d undelivered records (%d MiB spool): accepting connections after %.3f s", records, size, seconds))
    }
}
