import Foundation
import Logging
import Spool

/// Drains the undelivered records of one log group's streams to CloudWatch.
///
/// One per log group, so a throttled or failing group never holds up
/// another. Within the group, streams are sent one batch at a time, each batch
/// retried until the service accepts it; only then does the stream's cursor
/// advance, so a crash resends at most the one batch that was in flight.
struct GroupUploader {
    let logGroup: String
    let spool: Spool
    let client: CloudWatchLogsClient
    let autoCreateGroup: Bool
    let limits: BatchLimits
    let logger: Logger

    /// Sends everything pending in `streams`; returns when they are drained or the task is cancelled.
    func drain(_ streams: [SpoolStream]) async {
        var failures = FailureLog(logger: logger, logGroup: logGroup)
        var sequenceTokens: [Int64: String] = [:]
        for stream in streams {
            var backoff = RetryBackoff()
            while !Task.isCancelled {
                let records: [StoredRecord]
                do {
                    records = try spool.undelivered(stream: stream.id, limit: limits.maxEvents)
                } catch {
                    failures.failed("reading the spool: \(error)")
                    if await pause(backoff.next()) { continue } else { return }
                }
                guard var batch = BatchBuilder.build(records, limits: limits) else { break }
                BatchBuilder.setAsideRefused(&batch, nowMilliseconds: Int64(Date().timeIntervalSince1970 * 1000))
                if !batch.refused.isEmpty {
                    logger.warning("events CloudWatch would refuse for their age go to dead letters", metadata: [
                        "log_group": "\(logGroup)", "log_stream": "\(stream.logStream)", "count": "\(batch.refused.count)"])
                }
                if batch.events.isEmpty {
                    do {
                        try markDelivered(stream, batch, deadLetters: batch.refused, failures: &failures)
                    } catch {
                        if await !pause(backoff.next()) { return }
                    }
                    continue
                }
                if batch.truncated > 0 {
                    logger.warning("messages longer than the event limit were truncated", metadata: [
                        "log_group": "\(logGroup)", "log_stream": "\(stream.logStream)", "count": "\(batch.truncated)", "limit_bytes": "\(limits.maxEventBytes)"])
                }
                do {
                    let result = try await client.putLogEvents(group: logGroup, stream: stream.logStream, events: batch.events, sequenceToken: sequenceTokens[stream.id])
                    sequenceTokens[stream.id] = result.nextSequenceToken
                    let rejected = BatchBuilder.rejected(result.rejectedInfo, in: batch)
                    if !rejected.isEmpty {
                        logger.warning("CloudWatch rejected events of a batch; they go to dead letters", metadata: [
                            "log_group": "\(logGroup)", "log_stream": "\(stream.logStream)", "rejected": "\(result.rejectedInfo)", "count": "\(rejected.count)"])
                    }
                    try markDelivered(stream, batch, deadLetters: batch.refused + rejected, failures: &failures)
                    failures.recovered()
                    backoff.reset()
                } catch let error as CloudWatchError {
                    switch try? await recover(from: error, stream: stream, tokens: &sequenceTokens) {
                    case .retryNow?:
                        continue
                    case .delivered?:
                        try? markDelivered(stream, batch, deadLetters: batch.refused, failures: &failures)
                    case .backOff?, nil:
                        failures.failed("\(error)")
                        if await !pause(backoff.next()) { return }
                    }
                } catch {
                    failures.failed("\(error)")
                    if await !pause(backoff.next()) { return }
                }
            }
        }
    }

    private enum Recovery { case retryNow, delivered, backOff }

    /// Decides what an error means for the batch: fixable now, already delivered, or wait and retry.
    private func recover(from error: CloudWatchError, stream: SpoolStream, tokens: inout [Int64: String]) async throws -> Recovery {
        switch error.serviceType {
        case "ResourceNotFoundException":
            if autoCreateGroup {
                do { try await client.createLogGroup(logGroup) } catch let create as CloudWatchError where create.isAlreadyExists {}
            }
            do {
                try await client.createLogStream(group: logGroup, stream: stream.logStream)
                logger.info("created log stream", metadata: ["log_group": "\(logGroup)", "log_stream": "\(stream.logStream)"])
            } catch let create as CloudWatchError where create.isAlreadyExists {}
            return .retryNow
        case "DataAlreadyAcceptedException":
            return .delivered
        case "InvalidSequenceTokenException":
            guard case .service(_, let message, _) = error.kind,
                  let token = message.split(separator: " ").last.map(String.init), token.allSatisfy(\.isNumber) else { return .backOff }
            tokens[stream.id] = token
            return .retryNow
        default:
            return .backOff
        }
    }

    private func markDelivered(_ stream: SpoolStream, _ batch: PreparedBatch, deadLetters: [DeadLetter], failures: inout FailureLog) throws {
        do {
            try spool.markDelivered(stream: stream.id, through: batch.throughID, deadLetters: deadLetters)
        } catch {
            // The batch is in CloudWatch; if the cursor cannot move it will be sent once more.
            failures.failed("recording a delivered batch in the spool: \(error)")
            throw error
        }
    }

    /// Sleeps `seconds`; `false` when the task was cancelled meanwhile.
    private func pause(_ seconds: Double) async -> Bool {
        do {
            try await Task.sleep(nanoseconds: UInt64(seconds * 1e9))
            return true
        } catch {
            return false
        }
    }
}

/// Logs a failure when the kind of failure changes, and recovery once, never a line per retry.
struct FailureLog {
    let logger: Logger
    let logGroup: String
    private var current: String?
    private var repeats = 0

    init(logger: Logger, logGroup: String) {
        self.logger = logger
        self.logGroup = logGroup
    }

    mutating func failed(_ reason: String) {
        if reason != current {
            logger.warning("delivery failing; retrying with backoff", metadata: ["log_group": "\(logGroup)", "error": "\(reason)"])
            current = reason
            repeats = 0
        } else {
            repeats += 1
        }
    }

    mutating func recovered() {
        guard let previous = current else { return }
        logger.info("delivery recovered", metadata: ["log_group": "\(logGroup)", "after_error": "\(previous)", "retries": "\(repeats + 1)"])
        current = nil
    }
}
