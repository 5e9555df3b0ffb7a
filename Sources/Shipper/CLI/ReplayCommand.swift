import ArgumentParser
import Foundation
import ShipperCore
import Logging
import Spool

/// `shipper replay`: sends spooled records again, after an outage or a misrouting.
struct ReplayCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "replay",
        abstract: "Send spooled records again: to their log group and stream, to others, or as NDJSON.",
        discussion: """
            Works beside a running shipper (it only reads the spool) or while it is stopped. Each record goes \
            through the output its stream belongs to (--output-name picks outputs by name): CloudWatch's region, \
            endpoint and credentials, the batch limits (event_max_size, oversize_events) and the options of \
            the groups it creates come from that output in the config, and errors are answered as delivery \
            answers them. Records delivery would send to dead letters are counted, not sent. \
            Exit codes: 0 when everything selected was sent or counted so, 1 for a bad config, 64 for bad \
            options, 3 when the spool cannot be read, 4 when a batch kept failing or access was refused.
            """
    )

    @OptionGroup var location: SpoolLocation
    @OptionGroup var selection: SelectionOptions
    @Option(help: "Send to this log group instead of each record's own.") var toGroup: String?
    @Option(help: "Send to this log stream instead of each record's own.") var toStream: String?
    @Flag(help: "Write NDJSON to standard output instead of sending.") var stdout = false
    @Option(help: "Write NDJSON to this file instead of sending.") var output: String?
    @Flag(help: "Only count what would be replayed.") var dryRun = false

    func run() async throws {
        let inspector = try location.inspector()
        let chosen = try selection.selection()
        let total = try inspector.count(chosen)
        if dryRun {
            print("would replay \(total) records")
            return
        }
        var progress = Progress(total: total)
        if stdout || output != nil {
            let writer = try NDJSONWriter(path: output)
            try inspector.forEachPage(chosen) { page in
                writer.write(page)
                progress.advance(page.count)
            }
            progress.finish()
            return
        }
        guard let configuration = try location.configuration(), !configuration.outputs.isEmpty else {
            throw ValidationError("replaying to CloudWatch needs the config (-c) for the outputs' regions, endpoints, credentials, batch limits and group options")
        }
        let logger = Logger(label: "replay")
        let endpoints = try OutputEndpoint.make(configuration.outputs, environment: ProcessInfo.processInfo.environment, logger: logger)
        let replay = SpoolReplay(endpoints: endpoints, logger: logger)
        let report = try await replay.run(inspector, chosen, to: SpoolReplay.Target(logGroup: toGroup, logStream: toStream)) { progress.advance($0) }
        progress.finish()
        for (kind, count) in report.notSent.sorted(by: { $0.key < $1.key }) {
            FileHandle.standardError.write(Data("not sent: \(count) records that delivery would send to dead letters (\(kind)); export them with --stdout\n".utf8))
        }
        if let stopped = report.stopped {
            FileHandle.standardError.write(Data("replay stopped: \(stopped)\n".utf8))
            throw ShipperExitCode.incomplete.error
        }
    }
}

/// Progress on standard error: a bar with rate and ETA on a terminal, a line every few seconds otherwise.
struct Progress {
    let total: Int
    private(set) var done = 0
    private let started = Date()
    private var lastPrinted = Date.distantPast
    private let interactive = Terminal.standardErrorIsInteractive

    init(total: Int) {
        self.total = total
    }

    mutating func advance(_ count: Int) {
        done += count
        let now = Date()
        guard now.timeIntervalSince(lastPrinted) >= (interactive ? 0.1 : 5) else { return }
        lastPrinted = now
        print(final: false)
    }

    func finish() {
        print(final: true)
    }

    private func print(final: Bool) {
        let elapsed = max(Date().timeIntervalSince(started), 0.001)
        let rate = Double(done) / elapsed
        let eta = rate > 0 ? Double(total - done) / rate : 0
        let fraction = total == 0 ? 1 : Double(done) / Double(total)
        var line: String
        if interactive {
            let width = 30
            let filled = Int(fraction * Double(width))
            line = "\r[\(String(repeating: "#", count: filled))\(String(repeating: ".", count: width - filled))] "
        } else {
            line = "replay: "
        }
        line += String(format: "%d/%d records, %.0f/s, ETA %.0fs", done, total, rate, eta)
        if final || !interactive { line += "\n" }
        FileHandle.standardError.write(Data(line.utf8))
    }
}
