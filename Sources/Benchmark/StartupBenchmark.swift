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
            let message = [UInt8](repeating: 0x61, count: size)
            var written = present
            while written < records {
                let n = min(10_000, records - written)
                let rows = (0..<n).map { i in
                    SpoolRecord(logGroup: "/aws/ecs/bench", logStream: "task-\((written + i) % 50)", tag: "out.bench", timeNanoseconds: Int64(written + i), message: message)
                }
                try spool.append([SpoolAppend(chunk: Array("fill-\(written)".utf8), records: rows)], durable: false)
                written += n
            }
        }
        spool.close()

        var text = try String(contentsOfFile: config, encoding: .utf8)
        text = text.replacingOccurrences(of: #"(?m)^(\s*Listen\s+).*$"#, with: "$1127.0.0.1", options: .regularExpression)
        text = text.replacingOccurrences(of: #"(?m)^(\s*Port\s+).*$"#, with: "$10", options: .regularExpression)
        let configPath = base.appendingPathComponent("bench.conf").path
        try text.write(toFile: configPath, atomically: true, encoding: .utf8)

        let process = Process()
        process.executableURL = URL(fileURLWithPath: shipper)
        process.arguments = ["-c", configPath, "--storage-path", spoolFolder.path]
        var environment = ProcessInfo.processInfo.environment
        environment["AWS_REGION"] = "us-east-1"
        environment["AWS_ACCESS_KEY_ID"] = "bench"
        environment["AWS_SECRET_ACCESS_KEY"] = "bench"
        environment["AWS_ENDPOINT_URL"] = "http://127.0.0.1:9"
        process.environment = environment
        let pipe = Pipe()
        process.standardError = pipe
        let start = Date()
        try process.run()
        defer { process.terminate(); process.waitUntilExit() }
        var seen = ""
        while !seen.contains("forward input listening") {
            let data = pipe.fileHandleForReading.availableData
            guard !data.isEmpty else { throw ValidationError("the shipper exited: \(seen)") }
            seen += String(decoding: data, as: UTF8.self)
        }
        let seconds = Date().timeIntervalSince(start)
        let size = (try? FileManager.default.attributesOfItem(atPath: spoolPath)[.size] as? Int).map { $0 / 1_048_576 } ?? 0
        print(String(format: "startup: %d undelivered records (%d MiB spool): accepting connections after %.3f s", records, size, seconds))
    }
}
