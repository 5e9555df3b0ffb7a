import CloudWatchLogs
import Foundation
import Logging
import Spool

/// Starts one `GroupUploader` per output and log group that has undelivered
/// records, every `Flush` seconds, and stops them on shutdown.
///
/// Each stream of the spool belongs to an output, so an uploader sends with
/// that output's client, group options and batch limits only: two outputs
/// writing the same group (one per region, say) have an uploader each.
actor UploadSupervisor {
    /// Batches read and not yet sent, across every group: as many as one group sends side by side.
    static let batchesInFlight = GroupUploader.parallelStreams

    /// What an uploader drains: one output's log group.
    private struct GroupKey: Hashable {
        let output: Int
        let group: String
    }

    private let spool: Spool
    private let slots: DeliverySlots
    private let endpoints: [OutputEndpoint]
    /// One per output, like its client: the endpoint's streams learn of its recovery together.
    private let recoveries: [EndpointRecovery]
    private let flush: Double
    private let logger: Logger
    private let metrics: DeliveryMetrics
    private var running: [GroupKey: Task<Void, Never>] = [:]
    /// Where a running uploader finds its group's streams that got records since it started.
    private var inboxes: [GroupKey: StreamInbox] = [:]
    /// Streams of an output the config no longer has, warned about once each.
    private var orphansWarned: Set<Int64> = []
    private var loop: Task<Void, Never>?

    init(spool: Spool, endpoints: [OutputEndpoint], flush: Double, slots: DeliverySlots, logger: Logger, metrics: DeliveryMetrics) {
        self.spool = spool
        self.slots = slots
        self.metrics = metrics
        self.endpoints = endpoints
        self.recoveries = endpoints.map { _ in EndpointRecovery() }
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
        let byGroup = Dictionary(grouping: streams) { GroupKey(output: $0.output.index, group: $0.logGroup) }
        for (key, groupStreams) in byGroup {
            guard endpoints.indices.contains(key.output) else {
                warnOrphans(groupStreams)
                continue
            }
            if let inbox = inboxes[key], running[key] != nil {
                // The uploader skips the streams it is already sending.
                inbox.add(groupStreams)
                continue
            }
            let endpoint = endpoints[key.output]
            let inbox = StreamInbox()
            inboxes[key] = inbox
            let uploader = GroupUploader(output: endpoint.output, logGroup: key.group, spool: spool, client: endpoint.client,
                                         options: LogGroupOptions(endpoint.settings), limits: endpoint.settings.batchLimits,
                                         slots: slots, logger: logger, metrics: metrics, inbox: inbox, recovery: recoveries[key.output])
            running[key] = Task {
                await uploader.drain(groupStreams)
                self.finished(key)
            }
        }
    }

    /// Streams of an output index the config does not have (outputs removed since they were stored)
    /// are not sent by another output's settings: their records stay, and the operator hears of it.
    private func warnOrphans(_ streams: [SpoolStream]) {
        for stream in streams where orphansWarned.insert(stream.id).inserted {
            logger.error("records of an output the config no longer has stay in the spool; put the output back at its place in the config to send them", metadata: [
                "output": "\(stream.output.name)", "output_index": "\(stream.output.index)", "outputs_configured": "\(endpoints.count)",
                "log_group": "\(stream.logGroup)", "log_stream": "\(stream.logStream)"])
        }
    }

    private func finished(_ key: GroupKey) {
        running[key] = nil
        inboxes[key] = nil
    }
}
