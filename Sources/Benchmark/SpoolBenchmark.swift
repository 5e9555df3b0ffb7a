import ArgumentParser
import Foundation
import Spool

/// Appends records straight into a spool from several threads, as the
/// forward connections do, and reports records/s and MB/s.
struct SpoolBenchmark: ParsableCommand {
    static let configuration = CommandConfiguration(commandName: "spool", abstract: "Spool append throughput.")

    @Option(help: "Records to append.") var records = 1_000_000
    @Option(help: "Message bytes per record.") var size = 300
    @Option(help: "Records per append call.") var batch = 1_000
    @Option(help: "Appending threads.") var threads = 4
    @Option(help: "storage.sync: full or normal.") var sync = "full"

    func run() throws {
        guard let mode = SpoolSyncMode(rawValue: sync) else { throw ValidationError("--sync must be full or normal") }
        let folder = FileManager.default.temporaryDirectory.appendingPathComponent("shipper-bench-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: folder, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: folder) }
        let spool = try Spool(configuration: .init(path: folder.appendingPathComponent("spool.sqlite").path, sync: mode))
        // Lines that differ throughout, as logs do: identical ones would let the spool store almost nothing of them.
        let messages = (0..<1_000).map { Array(DockerRecord.text(count: size, seed: $0).utf8) }
        let perThread = records / threads
        let failures = FailureFlag()
        let start = Date()
        DispatchQueue.concurrentPerform(iterations: threads) { t in
            var sent = 0
            let stream = "task-\(t)"
            while sent < perThread {
                let n = min(batch, perThread - sent)
                let rows = (0..<n).map { i in
                    SpoolRecord(output: .first, logGroup: "/aws/ecs/bench", logStream: stream, tag: "out.bench", timeNanoseconds: Int64(sent + i), message: messages[(sent + i) % messages.count])
                }
                do { try spool.append([SpoolAppend(chunk: nil, records: SpoolRecords(rows))], durable: true) } catch { failures.set("append failed: \(error)"); return }
                sent += n
            }
        }
        let seconds = Date().timeIntervalSince(start)
        spool.close()
        if let failure = failures.message { throw ValidationError(failure) }
        let total = perThread * threads
        print(String(format: "spool append: %d records of %d bytes, sync %@, %d threads, %d per call: %.2f s, %.0f records/s, %.1f MB/s",
                     total, size, sync, threads, batch, seconds, Double(total) / seconds, Double(total * size) / seconds / 1e6))
    }
}
