import CloudWatchLogs
import Foundation
import Logging
import Spool

/// Drains the undelivered records of one output's log group's streams to CloudWatch.
///
/// One per output and log group, so a throttled or failing group never holds up
/// another. The group's streams take turns a batch at a time, up to
/// `parallelStreams` of them at once, so a stream that keeps logging never
/// keeps its group's other streams (or new ones, from `inbox`) waiting. Each
/// stream has one batch in flight at most, retried until the service accepts
/// it; only then does the stream's cursor advance, so a crash resends at most
/// the one batch per stream that was in flight.
struct GroupUploader: Sendable {
    /// How many streams of one group have a call in flight at once.
    static let parallelStreams = 8

    /// The output whose streams these are: its name goes on the metrics and log lines.
    let output: SpoolOutput
    let logGroup: String
    let spool: Spool
    let client: CloudWatchLogsClient
    let options: LogGroupOptions
    let limits: BatchLimits
    /// Shared by every group's uploader: a stream holds one while it reads and sends a batch.
    let slots: DeliverySlots
    let logger: Logger
    let metrics: DeliveryMetrics
    /// Streams of this group that got records after the uploader started.
    let inbox: StreamInbox
    /// Shared by every uploader of the same output: a success after failures wakes the waiting streams.
    let recovery: EndpointRecovery

    /// One stream's turn: what it remembers, and what its batch came to.
    private struct Turn: Sendable {
        let stream: SpoolStream
        var state: StreamState
        var failures: FailureLog
        /// Whether the stream has more to send (it sent, or it waited out a failure).
        var more: Bool
    }

    /// What the drain loop waits for: a stream's turn ending (nil once cancelled), or streams in the inbox.
    private enum DrainEvent: Sendable {
        case turnEnded(Turn?)
        case arrivals
    }

    /// Sends everything pending in `streams` and in those the inbox brings,
    /// turn by turn; returns when none has records left or the task is cancelled.
    /// The inbox is watched beside the calls: a stream that got records again
    /// after it was drained starts at once, even while the only call out is one
    /// that stalls.
    func drain(_ streams: [SpoolStream]) async {
        await withTaskGroup(of: DrainEvent.self) { group in
            var queue: [Turn] = []
            var known = Set<Int64>()
            var running = 0
            var watchingInbox = false
            func enqueue(_ new: [SpoolStream]) {
                for stream in new where known.insert(stream.id).inserted {
                    queue.append(Turn(stream: stream, state: StreamState(limit: limits.maxEvents),
                                      failures: FailureLog(logger: logger, output: output.name, logGroup: logGroup, logStream: stream.logStream), more: true))
                }
            }
            enqueue(streams)
            while true {
                enqueue(inbox.take())
                while running < Self.parallelStreams, !queue.isEmpty, !Task.isCancelled {
                    let turn = queue.removeFirst()
                    running += 1
                    group.addTask { .turnEnded(await take(turn)) }
                }
                if running == 0 {
                    // Done (or cancelled): the inbox watch, if out, ends with the group.
                    group.cancelAll()
                    return
                }
                if !watchingInbox && !Task.isCancelled {
                    watchingInbox = true
                    group.addTask { [inbox] in
                        await inbox.arrival()
                        return .arrivals
                    }
                }
                guard let event = await group.next() else { return }
                switch event {
                case .arrivals:
                    watchingInbox = false
                case .turnEnded(let finished):
                    running -= 1
                    if let turn = finished {
                        if turn.more { queue.append(turn) } else { known.remove(turn.stream.id) }
                    }
                }
            }
        }
    }

    /// Sends one batch of the stream (or waits out its backoff); nil once the task is cancelled.
    private func take(_ turn: Turn) async -> Turn? {
        var turn = turn
        guard !Task.isCancelled else { return nil }
        // Taken before the call: a recovery while it was out, or between its failure and the
        // pause, must still wake the stream (other streams' calls succeed all the while).
        let recoveriesBefore = recovery.count
        switch await sendNextBatch(of: turn.stream, state: &turn.state, failures: &turn.failures) {
        case .sent: turn.more = true
        case .drained: turn.more = false
        case .retry(let delay, let wakeOnRecovery):
            if await !pause(delay, wakeOnRecoveryAfter: wakeOnRecovery ? recoveriesBefore : nil) { return nil }
            turn.more = true
        }
        return turn
    }

    /// What one stream's delivery remembers between batches.
    private struct StreamState: Sendable {
        /// How many records to read for the next batch: about what the last batch held
        /// (a 1 MiB batch of 300-byte events holds 3,200, not 10,000), halved to
        /// isolate an event the service refuses.
        var limit: Int
        var sequenceToken: String?
        /// Whether the stream's last call got no answer or a 5xx: until a call succeeds, each
        /// carries one event (`probeEvents`). While the endpoint is down a retry then reads and
        /// encodes one record, not a whole batch again (fifty streams retrying megabyte
        /// batches against a closed port took half a core), and `limit` is kept for after.
        var probing = false
        var backoff = RetryBackoff()
        var slowBackoff = RetryBackoff(base: 5, cap: 120)
        /// A batch CloudWatch accepted whose delivery the spool could not record
        /// yet (a full disk, or any failed write): recorded before anything else
        /// is sent, and not sent again by this process (a restart before the
        /// record is written sends it once more).
        var unrecorded: UnrecordedDelivery?
    }

    /// What `Spool.markDelivered` is to be told once it can be.
    private struct UnrecordedDelivery: Sendable {
        let throughID: Int64
        let deadLetters: [DeadLetter]
        let nextLimit: Int
    }

    /// How often a delivery the spool could not record is tried again: a local write, cheap to retry.
    static let recordRetrySeconds = 1.0

    /// The events a stream's call carries while its last call failed for want of an answer.
    static let probeEvents = 1

    /// `retry`: wait `delay` seconds, or less if the endpoint recovers meanwhile and `wakeOnRecovery` (not for throttling).
    private enum Step { case sent, drained, retry(Double, wakeOnRecovery: Bool = true) }

    /// The next batch of the stream and how many records to read for the one after it;
    /// nil when nothing is left. The records read are let go here: the batch shares their messages.
    private func nextBatch(of stream: SpoolStream, limit: Int) throws -> (batch: PreparedBatch, nextLimit: Int)? {
        let records = try spool.undelivered(stream: stream.id, limit: limit, maxBytes: limits.maxBytes)
        guard let batch = BatchBuilder.build(records, limits: limits, nowMilliseconds: Int64(Date().timeIntervalSince1970 * 1000)) else { return nil }
        let used = batch.recordIDs.count + batch.refused.count
        return (batch, used < records.count ? used + used / 8 + 1 : min(limits.maxEvents, records.count * 2))
    }

    private func sendNextBatch(of stream: SpoolStream, state: inout StreamState, failures: inout FailureLog) async -> Step {
        if let pending = state.unrecorded {
            return record(pending, of: stream, state: &state, failures: &failures)
        }
        // A throttled endpoint is waited out by all its streams together (one probe at a time).
        let probe: Bool
        switch recovery.admit() {
        case .wait(let seconds): return .retry(seconds)
        case .go(let isProbe): probe = isProbe
        }
        // A probe that ends without calling (nothing to send, no slot) lets another stream probe.
        var called = false
        defer { if probe && !called { recovery.probeAbandoned() } }
        do {
            try await slots.acquire()
        } catch {
            return .drained
        }
        defer { slots.release() }
        var batch: PreparedBatch
        let nextLimit: Int
        do {
            guard let next = try nextBatch(of: stream, limit: state.probing ? Self.probeEvents : state.limit) else { return .drained }
            batch = next.batch
            nextLimit = state.probing ? state.limit : next.nextLimit
        } catch {
            failures.failed("reading the spool: \(error)")
            return .retry(state.backoff.next())
        }
        if batch.truncated > 0 {
            logger.warning("messages longer than the event limit were truncated", metadata: [
                "output": "\(output.name)", "log_group": "\(logGroup)", "log_stream": "\(stream.logStream)", "count": "\(batch.truncated)", "limit_bytes": "\(limits.maxEventBytes)"])
        }
        if !batch.missingShapes.isEmpty {
            logger.error("spool damage: records whose shape is missing go to dead letters instead of out without their message's ends", metadata: [
                "output": "\(output.name)", "log_group": "\(logGroup)", "log_stream": "\(stream.logStream)",
                "records": "\(batch.missingShapes.map { "\($0.record) (shape \($0.shape))" }.joined(separator: ", "))"])
        }
        if batch.refused.count > batch.missingShapes.count {
            logger.warning("events CloudWatch would refuse (age or event_max_size) go to dead letters", metadata: [
                "output": "\(output.name)", "log_group": "\(logGroup)", "log_stream": "\(stream.logStream)", "count": "\(batch.refused.count - batch.missingShapes.count)"])
        }
        if batch.events.isEmpty {
            return delivered(stream, batch, deadLetters: batch.refused, nextLimit: nextLimit, state: &state, failures: &failures)
        }
        // The events go to the client, which lets them go once they are encoded.
        let sentEvents = batch.events.count
        let sentBytes = batch.events.reduce(0) { $0 + $1.message.count }
        let events = batch.events
        batch.events = []
        called = true
        do {
            let result = try await client.putLogEvents(group: logGroup, stream: stream.logStream, events: consume events, sequenceToken: state.sequenceToken)
            recovery.succeeded()
            state.sequenceToken = result.nextSequenceToken
            let rejected = BatchBuilder.rejected(result.rejectedInfo, in: batch)
            metrics.delivered(output: output.name, group: logGroup, stream: stream.logStream, events: sentEvents - rejected.count,
                              bytes: sentBytes, rejected: rejected.count + batch.refused.count, truncated: batch.truncated)
            if !rejected.isEmpty {
                logger.warning("CloudWatch rejected events of a batch; they go to dead letters", metadata: [
                    "output": "\(output.name)", "log_group": "\(logGroup)", "log_stream": "\(stream.logStream)", "rejected": "\(result.rejectedInfo)", "count": "\(rejected.count)"])
            }
            return delivered(stream, batch, deadLetters: batch.refused + rejected, nextLimit: nextLimit, state: &state, failures: &failures)
        } catch let error as CloudWatchError {
            metrics.failed(output: output.name, group: logGroup, stream: stream.logStream, error: error, description: "\(error)")
            let action = DeliveryAction(for: error, batchRecords: batch.recordIDs.count + batch.refused.count)
            // Any answer but a 5xx (or none) or a throttle shows the endpoint is up again.
            if error.isEndpointFailure {
                recovery.failed()
                state.probing = true
            } else if action == .retryThrottled {
                recovery.throttled()
            } else {
                recovery.succeeded()
            }
            return await recover(action, from: error, stream: stream, batch: batch, state: &state, failures: &failures)
        } catch {
            metrics.failed(output: output.name, group: logGroup, stream: stream.logStream, error: nil, description: "\(error)")
            recovery.failed()
            state.probing = true
            failures.failed("\(error)")
            return .retry(state.backoff.next())
        }
    }

    /// Does what `DeliveryAction`'s table said for the error: fix it now, count the batch delivered, or wait and retry.
    private func recover(_ action: DeliveryAction, from error: CloudWatchError, stream: SpoolStream, batch: PreparedBatch,
                         state: inout StreamState, failures: inout FailureLog) async -> Step {
        switch action {
        case .createDestination:
            do {
                try await DestinationCreator(client: client, options: options, logger: logger).create(group: logGroup, stream: stream.logStream)
                return .sent
            } catch {
                failures.failed("creating \(logGroup)/\(stream.logStream): \(error)")
                return .retry(state.backoff.next())
            }
        case .treatAsDelivered:
            return delivered(stream, batch, deadLetters: batch.refused, nextLimit: limits.maxEvents, state: &state, failures: &failures)
        case .resendWithToken(let expected):
            let token: String??
            switch expected {
            case .token(let named): token = named
            case .noToken: token = .some(nil)
            case .unknown:
                // DescribeLogStreams: nil when the stream has no token yet; a failed call leaves it unknown.
                do { token = .some(try await client.uploadSequenceToken(group: logGroup, stream: stream.logStream)) } catch { token = nil }
            }
            guard let token else {
                failures.failed("\(error)")
                return .retry(state.backoff.next())
            }
            state.sequenceToken = token
            return .sent
        case .splitBatch:
            // Halve the batch until the event the service refuses stands alone.
            state.limit = max(1, (batch.recordIDs.count + batch.refused.count) / 2)
            return .sent
        case .deadLetter(let reason):
            logger.error("CloudWatch refuses an event for good; it goes to dead letters", metadata: [
                "output": "\(output.name)", "log_group": "\(logGroup)", "log_stream": "\(stream.logStream)", "error": "\(error)"])
            let letters = batch.recordIDs.map { DeadLetter(recordID: $0, reason: reason) }
            return delivered(stream, batch, deadLetters: batch.refused + letters, nextLimit: limits.maxEvents, state: &state, failures: &failures)
        case .retrySlowly:
            failures.failed("\(error)")
            return .retry(state.slowBackoff.next(), wakeOnRecovery: false)
        case .retryThrottled:
            failures.failed("\(error)")
            // The endpoint's shared backoff decides when it is called next (`EndpointRecovery.admit`).
            return .retry(0)
        case .retry:
            failures.failed("\(error)")
            return .retry(state.backoff.next())
        }
    }

    /// Advances the cursor past the batch. If the spool cannot record that
    /// (a full disk), the stream sends nothing more until it can: the batch is
    /// never sent again only because its delivery could not be written down.
    private func delivered(_ stream: SpoolStream, _ batch: PreparedBatch, deadLetters: [DeadLetter], nextLimit: Int,
                           state: inout StreamState, failures: inout FailureLog) -> Step {
        record(UnrecordedDelivery(throughID: batch.throughID, deadLetters: deadLetters, nextLimit: nextLimit), of: stream, state: &state, failures: &failures)
    }

    private func record(_ delivery: UnrecordedDelivery, of stream: SpoolStream, state: inout StreamState, failures: inout FailureLog) -> Step {
        do {
            try spool.markDelivered(stream: stream.id, through: delivery.throughID, deadLetters: delivery.deadLetters)
        } catch {
            if state.unrecorded == nil {
                logger.error("CloudWatch accepted a batch but the spool cannot record it; this stream sends nothing until it can, so the batch is not sent twice", metadata: [
                    "output": "\(output.name)", "log_group": "\(logGroup)", "log_stream": "\(stream.logStream)", "through_id": "\(delivery.throughID)", "error": "\(error)"])
                state.unrecorded = delivery
            }
            return .retry(Self.recordRetrySeconds)
        }
        if state.unrecorded != nil {
            logger.info("recorded the delivered batch; sending resumes", metadata: [
                "output": "\(output.name)", "log_group": "\(logGroup)", "log_stream": "\(stream.logStream)", "through_id": "\(delivery.throughID)"])
            state.unrecorded = nil
        }
        failures.recovered()
        state.probing = false
        state.backoff.reset()
        state.slowBackoff.reset()
        state.limit = max(1, delivery.nextLimit)
        return .sent
    }

    /// Sleeps `seconds`; with `wakeOnRecoveryAfter` (a `recovery.count` seen before), in steps of
    /// at most a quarter second, ending early once the endpoint has recovered since;
    /// `false` when the task was cancelled meanwhile.
    private func pause(_ seconds: Double, wakeOnRecoveryAfter seen: Int?) async -> Bool {
        let end = Date().addingTimeInterval(seconds)
        do {
            while true {
                let left = end.timeIntervalSinceNow
                guard left > 0 else { return true }
                if let seen, recovery.count != seen { return true }
                try await Task.sleep(nanoseconds: UInt64(min(left, seen != nil ? 0.25 : left) * 1e9))
            }
        } catch {
            return false
        }
    }
}

/// Logs a stream's failure when the kind of failure changes, and its recovery once, never a line per retry.
struct FailureLog: Sendable {
    let logger: Logger
    let output: String
    let logGroup: String
    let logStream: String
    private var current: String?
    private var repeats = 0

    init(logger: Logger, output: String, logGroup: String, logStream: String) {
        self.logger = logger
        self.output = output
        self.logGroup = logGroup
        self.logStream = logStream
    }

    mutating func failed(_ reason: String) {
        if reason != current {
            logger.warning("delivery failing; retrying with backoff", metadata: [
                "output": "\(output)", "log_group": "\(logGroup)", "log_stream": "\(logStream)", "error": "\(reason)"])
            current = reason
            repeats = 0
        } else {
            repeats += 1
        }
    }

    mutating func recovered() {
        guard let previous = current else { return }
        logger.info("delivery recovered", metadata: [
            "output": "\(output)", "log_group": "\(logGroup)", "log_stream": "\(logStream)", "after_error": "\(previous)", "retries": "\(repeats + 1)"])
        current = nil
    }
}
