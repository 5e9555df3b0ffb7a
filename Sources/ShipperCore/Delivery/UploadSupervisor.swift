import CloudWatchLogs
import Foundation
import Logging
import Spool

/// Starts one `GroupUploader` per log group that has undelivered records,
/// every `Flush` seconds, and stops them on shutdown.
actor UploadSupervisor {
    /// Batches read and not yet sent, across every group: as many as one group sends side by side.
    static let batchesInFlight = GroupUploader.parallelStreams

    private let spool: Spool
    private let slots: DeliverySlots
    private let outputs: [CloudWatchOutputSettings]
    private let clients: [CloudWatchLogsClient]
    /// One per output, like its client: the endpoint's streams learn of its recovery together.
    private let recoveries: [EndpointRecovery]
    private let flush: Double
    private let logger: Logger
    private let metrics: DeliveryMetrics
    private var running: [String: Task<Void, Never>] = [:]
    /// Where a running uploader finds its group's streams that got records since it started.
    private var inboxes: [String: StreamInbox] = [:]
    private var loop: Task<Void, Never>?

    init(spool: Spool, outputs: [CloudWatchOutputSettings], credentials: any CredentialsProvider, flush: Double, slots: DeliverySlots,
         logger: Logger, metrics: DeliveryMetrics) throws {
        self.spool = spool
        self.slots = slots
        self.metrics = metrics
        self.outputs = outputs
        self.recoveries = outputs.map { _ in EndpointRecovery() }
        self.clients = try outputs.map {
            try CloudWatchLogsClient(endpoint: $0.endpoint, region: $0.region, credentials: credentials, verifyTLS: $0.verifyTLS)
        }
        self.flush = flush
        self.logger = logger
    }

    func start() {
        loop = Task { [flush] in
            while !Task.isCancelled {
                self.startUploaders()
                try? await Task.sleep(nanoseconds: UInt64(flush * 1e9))
            }
        }
    }

    /// Stops starting uploaders and gives the running ones `grace` seconds to finish.
    /// Whatever they did not send stays in the spool for the next start.
    func stop(grace: Double) async {
        loop?.cancel()
        let deadline = Date().addingTimeInterval(grace)
        while !running.isEmpty && Date() < deadline {
            try? await Task.sleep(nanoseconds: 50_000_000)
        }
        for task in running.values { task.cancel() }
        for task in running.values { await task.value }
        running.removeAll()
    }

    private func startUploaders() {
        let streams: [SpoolStream]
        do {
            streams = try spool.streamsWithPendingRecords()
        } catch {
            logger.error("cannot list pending streams: \(error)")
            return
        }
        let byGroup = Dictionary(grouping: streams, by: \.logGroup)
        for (group, groupStreams) in byGroup {
            if let inbox = inboxes[group], running[group] != nil {
                // The uploader skips the streams it is already sending.
                inbox.add(groupStreams)
                continue
            }
            // Each group belongs to the first output whose settings made it; with one output that is always it.
            let index = outputs.firstIndex { $0.logGroupName == group || $0.logGroupTemplate != nil } ?? 0
            let output = outputs[index]
            let inbox = StreamInbox()
            inboxes[group] = inbox
            let uploader = GroupUploader(logGroup: group, spool: spool, client: clients[index], options: LogGroupOptions(output), limits: output.batchLimits,
                                         slots: slots, logger: logger, metrics: metrics, inbox: inbox, recovery: recoveries[index])
            running[group] = Task {
                await uploader.drain(groupStreams)
                self.finished(group)
            }
        }
    }

    private func finished(_ group: String) {
        running[group] = nil
        inboxes[group] = nil
    }
}
