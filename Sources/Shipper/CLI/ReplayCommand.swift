import CloudWatchLogs
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
            Works beside a running shipper (it only reads the spool) or while it is stopped. CloudWatch's \
            region, endpoint and credentials come from the config's first output, as for the shipper. \
            Exit codes: 0 when everything selected was sent, 1 for a bad config, 64 for bad options, \
            3 when the spool cannot be read, 4 when CloudWatch kept refusing a batch.
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
        guard let configuration = try location.configuration(), let output = configuration.outputs.first else {
            throw ValidationError("replaying to CloudWatch needs the config (-c) for the region, endpoint and credentials")
        }
        let logger = Logger(label: "replay")
        let client = try CloudWatchLogsClient(endpoint: output.endpoint, region: output.region,
                                              credentials: CredentialsChain(environment: ProcessInfo.processInfo.environment, region: output.region, logger: logger),
                                              verifyTLS: output.verifyTLS)
        let sender = ReplaySender(client: client, createGroups: output.autoCreateGroup)
        var failure: Error?
        var after: Int64 = 0
        while failure == nil {
            let page = try inspector.select(chosen, after: after)
            guard let last = page.last else { break }
            after = last.id
            let destinations = Dictionary(grouping: page) { DestinationKey(group: toGroup ?? $0.logGroup, stream: toStream ?? $0.logStream) }
            for (destination, records) in destinations.sorted(by: { ($0.key.group, $0.key.stream) < ($1.key.group, $1.key.stream) }) {
                do {
                    try await sender.send(records, to: destination)
                } catch {
                    failure = error
                    break
                }
            }
            progress.advance(page.count)
        }
        progress.finish()
        if let failure {
            FileHandle.standardError.write(Data("replay stopped: \(failure)\n".utf8))
            throw ShipperExitCode.incomplete.error
        }
    }
}

struct DestinationKey: Hashable {
    var group: String
    var stream: String
}

/// Sends replayed records in batches within every PutLogEvents rule,
/// creating the stream (and the group, if the output may) when missing,
/// and retrying transient failures a few times.
struct ReplaySender {
    let client: CloudWatchLogsClient
    let createGroups: Bool

    func send(_ records: [SelectedRecord], to destination: DestinationKey) async throws {
        var pending = records.map { StoredRecord(id: $0.id, timeNanoseconds: $0.timeNanoseconds, message: $0.message) }
        let now = Int64(Date().timeIntervalSince1970 * 1000)
        while let batch = BatchBuilder.build(pending, limits: BatchLimits(), nowMilliseconds: now) {
            pending.removeFirst(batch.recordIDs.count + batch.refused.count)
            if !batch.refused.isEmpty {
                FileHandle.standardError.write(Data("skipped \(batch.refused.count) records CloudWatch refuses for their age (export them with --stdout)\n".utf8))
            }
            guard !batch.events.isEmpty else { continue }
            try await put(batch, to: destination)
        }
    }

    private func put(_ batch: PreparedBatch, to destination: DestinationKey) async throws {
        var backoff = RetryBackoff()
        for attempt in 1...8 {
            do {
                _ = try await client.putLogEvents(group: destination.group, stream: destination.stream, events: batch.events)
                return
            } catch let error as CloudWatchError where error.isResourceNotFound {
                if createGroups {
                    do { try await client.createLogGroup(destination.group) } catch let create as CloudWatchError where create.isAlreadyExists {}
                }
                do { try await client.createLogStream(group: destination.group, stream: destination.stream) } catch let create as CloudWatchError where create.isAlreadyExists {}
            } catch let error as CloudWatchError where error.isBadRequest || attempt == 8 {
                throw error
            } catch {
                if attempt == 8 { throw error }
                try await Task.sleep(nanoseconds: UInt64(backoff.next() * 1e9))
            }
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
