import CloudWatchLogs
import Foundation
import Logging
import Spool

/// Sends spooled records again (`shipper replay`) by delivery's rules: each
/// record through its own stream's output (that output's client, so its
/// region, endpoint and credentials), with that output's batch limits
/// (`event_max_size`, `oversize_events`) through the
/// same `BatchBuilder`, groups created with the output's class, tags and
/// retention by the same `DestinationCreator`, and every error answered as
/// `DeliveryAction`'s table says. So what CloudWatch holds after a replay is
/// what it would hold after delivery of the same records.
///
/// Where it differs from an uploader is what a person running a command
/// needs: it only reads the spool (records delivery would dead-letter are
/// counted in the report, not written), it gives up on a batch after
/// `maxAttempts` failed calls or at once when access is refused, and it stops
/// at the first batch it gives up on, so the operator can fix the cause and
/// replay the rest.
public struct SpoolReplay {
    /// Calls per batch before the replay stops: about 25 s of backoff at most.
    static let maxAttempts = 8

    /// What replay sends through for one output.
    private struct Sender {
        let output: SpoolOutput
        let client: CloudWatchLogsClient
        let limits: BatchLimits
        let destinations: DestinationCreator
    }

    private let senders: [Sender]
    /// The output of a record from a spool before format 4 (which names none), as delivery would pick it.
    private let legacyOwner: LegacyStreamOwner

    /// `endpoints`: every output of the config, in its order (`OutputEndpoint.make`).
    public init(endpoints: [OutputEndpoint], logger: Logger) {
        senders = endpoints.map { endpoint in
            Sender(output: endpoint.output, client: endpoint.client, limits: endpoint.settings.batchLimits,
                   destinations: DestinationCreator(client: endpoint.client, options: LogGroupOptions(endpoint.settings), logger: logger))
        }
        legacyOwner = LegacyStreamOwnership.rule(for: endpoints.map(\.settings))
    }

    /// Where each record goes: its own log group and stream, or those named instead.
    public struct Target: Sendable {
        public var logGroup: String?
        public var logStream: String?

        public init(logGroup: String? = nil, logStream: String? = nil) {
            self.logGroup = logGroup
            self.logStream = logStream
        }
    }

    private struct Destination: Hashable {
        var output: SpoolOutput
        var group: String
        var stream: String
    }

    /// Sends what `selection` takes from `inspector` to `target`, a page at a
    /// time in spool order; `progress` hears how many records each page held.
    /// Throws only when the spool cannot be read; a replay CloudWatch stopped
    /// returns its report with `stopped` set.
    public func run(_ inspector: SpoolInspector, _ selection: RecordSelection, to target: Target,
                    progress: (Int) -> Void) async throws -> ReplayReport {
        var report = ReplayReport()
        // Sequence tokens per destination, for endpoints that still ask for them.
        var tokens: [Destination: String] = [:]
        var after: Int64 = 0
        while report.stopped == nil {
            let page = try inspector.select(selection, after: after)
            guard let last = page.last else { break }
            after = last.id
            let byDestination = Dictionary(grouping: page) {
                Destination(output: $0.output ?? legacyOwner($0.logGroup), group: target.logGroup ?? $0.logGroup, stream: target.logStream ?? $0.logStream)
            }
            for (destination, records) in byDestination.sorted(by: {
                ($0.key.output.index, $0.key.group, $0.key.stream) < ($1.key.output.index, $1.key.group, $1.key.stream)
            }) {
                do {
                    try await send(records.map { StoredRecord(id: $0.id, timeNanoseconds: $0.timeNanoseconds, message: $0.message) },
                                   to: destination, tokens: &tokens, report: &report)
                } catch {
                    report.stopped = error
                    break
                }
            }
            report.read += page.count
            progress(page.count)
        }
        return report
    }

    /// What became of one batch.
    private enum Outcome {
        /// CloudWatch holds its events, but for those its answer rejected.
        case delivered(rejected: [DeadLetter])
        case split
        case refused(reason: String)
    }

    /// Sends `records` (one destination's, in spool order) batch by batch, as an uploader sends a stream's.
    private func send(_ records: [StoredRecord], to destination: Destination, tokens: inout [Destination: String],
                      report: inout ReplayReport) async throws(ReplayError) {
        guard senders.indices.contains(destination.output.index) else {
            throw ReplayError(reason: .outputNotConfigured, output: destination.output.name, logGroup: destination.group, logStream: destination.stream,
                              firstRecord: records.first?.id ?? 0, lastRecord: records.last?.id ?? 0,
                              underlying: ReplayError.MissingOutput(output: destination.output.name, index: destination.output.index, configured: senders.count))
        }
        let sender = senders[destination.output.index]
        let limits = sender.limits
        var pending = records[...]
        var limit = limits.maxEvents
        while let batch = BatchBuilder.build(Array(pending.prefix(limit)), limits: limits, nowMilliseconds: Int64(Date().timeIntervalSince1970 * 1000)) {
            let used = batch.recordIDs.count + batch.refused.count
            if batch.events.isEmpty {
                report.leftOut(batch.refused)
                pending.removeFirst(used)
                continue
            }
            switch try await put(batch, records: used, to: destination, through: sender, tokens: &tokens) {
            case .split:
                // Halve the batch until the event the service refuses stands alone.
                limit = max(1, used / 2)
                continue
            case .delivered(let rejected):
                report.sent += batch.events.count - rejected.count
                report.leftOut(batch.refused + rejected)
            case .refused(let reason):
                report.leftOut(batch.refused + batch.recordIDs.map { DeadLetter(recordID: $0, reason: reason) })
            }
            pending.removeFirst(used)
            limit = limits.maxEvents
        }
    }

    /// Calls PutLogEvents for `batch` until the table's action settles it, within `maxAttempts` calls.
    /// Creating the destination or taking the expected sequence token uses up an attempt but no backoff.
    private func put(_ batch: PreparedBatch, records: Int, to destination: Destination, through sender: Sender,
                     tokens: inout [Destination: String]) async throws(ReplayError) -> Outcome {
        let client = sender.client
        var backoff = RetryBackoff()
        func stop(_ reason: ReplayError.Reason, _ error: any Error) -> ReplayError {
            ReplayError(reason: reason, output: sender.output.name, logGroup: destination.group, logStream: destination.stream,
                        firstRecord: batch.recordIDs.min() ?? batch.throughID, lastRecord: batch.throughID, underlying: error)
        }
        var attempt = 0
        while true {
            attempt += 1
            let error: CloudWatchError
            do {
                let result = try await client.putLogEvents(group: destination.group, stream: destination.stream, events: batch.events,
                                                           sequenceToken: tokens[destination])
                tokens[destination] = result.nextSequenceToken
                return .delivered(rejected: BatchBuilder.rejected(result.rejectedInfo, in: batch))
            } catch let failure as CloudWatchError {
                error = failure
            } catch {
                throw stop(.interrupted, error)
            }
            var last: any Error = error
            var wait = true
            switch DeliveryAction(for: error, batchRecords: records) {
            case .treatAsDelivered: return .delivered(rejected: [])
            case .splitBatch: return .split
            case .deadLetter(let reason): return .refused(reason: reason)
            case .retrySlowly: throw stop(.needsOperator, error)
            case .createDestination:
                do {
                    try await sender.destinations.create(group: destination.group, stream: destination.stream)
                    wait = false
                } catch let create {
                    last = create
                }
            case .resendWithToken(.token(let token)):
                tokens[destination] = token
                wait = false
            case .resendWithToken(.noToken):
                tokens[destination] = nil
                wait = false
            case .resendWithToken(.unknown):
                do {
                    tokens[destination] = try await client.uploadSequenceToken(group: destination.group, stream: destination.stream)
                    wait = false
                } catch let lookup {
                    last = lookup
                }
            case .retry, .retryThrottled:
                break
            }
            guard attempt < Self.maxAttempts else { throw stop(.attemptsExhausted(attempt), last) }
            guard wait else { continue }
            do {
                try await Task.sleep(nanoseconds: UInt64(backoff.next() * 1e9))
            } catch let cancelled {
                throw stop(.interrupted, cancelled)
            }
        }
    }
}
