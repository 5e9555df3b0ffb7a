import CloudWatchLogs
import Foundation
import Ingest
import Logging
import Spool

/// The running shipper: spool, forward inputs and uploaders, started in that
/// order and stopped in reverse, so nothing is accepted that cannot be stored
/// and nothing stored is dropped at shutdown. A stop takes the inputs' drain
/// (about a second), then `Grace` for the uploaders, then the spool's close.
public final class ShipperRuntime {
    /// The spool's file name inside `storage.path`.
    public static let spoolFileName = "shipper.sqlite"

    let configuration: ShipperConfiguration
    let storagePath: String
    let logger: Logger

    public init(configuration: ShipperConfiguration, storagePath: String, logger: Logger) {
        self.configuration = configuration
        self.storagePath = storagePath
        self.logger = logger
    }

    /// Runs until `stopRequested` returns (with the name of what asked: a
    /// signal, a console event), then stops as described above.
    public func run(until stopRequested: () async -> String) async throws {
        try FileManager.default.createDirectory(atPath: storagePath, withIntermediateDirectories: true)
        let spoolPath = (storagePath as NSString).appendingPathComponent(Self.spoolFileName)
        let service = configuration.service
        let spool = try Spool(configuration: .init(
            path: spoolPath, sync: service.storageSync, totalLimitBytes: service.storageTotalLimit.map(Int64.init),
            keepDelivered: service.storageKeepDelivered, diskReserveBytes: Int64(service.storageDiskReserve),
            onCorruption: service.storageOnCorruption, legacyStreamOwner: LegacyStreamOwnership.rule(for: configuration.outputs)), logger: logger)
        logger.info("spool open", metadata: [
            "path": "\(spoolPath)", "sync": "\(service.storageSync.rawValue)", "disk_reserve_bytes": "\(service.storageDiskReserve)",
            "total_limit_bytes": "\(service.storageTotalLimit.map(String.init) ?? "none")", "keep_delivered_seconds": "\(service.storageKeepDelivered)"])

        let sink = SpoolSink(router: Router(outputs: configuration.outputs), spool: spool, logger: logger)
        let pipeline = FilterPipeline(filters: configuration.filters)
        // Pieces of split lines acked before a restart wait for the rest of their line.
        let assembler = PartialMessageAssembler()
        let staged = try spool.stagedPieces()
        assembler.restore(staged.map { StagedPiece(key: $0.key, ordinal: $0.ordinal, bytes: $0.bytes) })
        if !staged.isEmpty { logger.info("restored pieces of split lines", metadata: ["pieces": "\(staged.count)", "lines": "\(assembler.pendingLines)"]) }
        // One for the process: the point is that all inputs together cannot balloon.
        let budget = DecodeBudget(limit: service.ingestMaxPendingBytes)
        let receiveBudget = DecodeBudget(limit: service.ingestMaxReceiveBytes)
        var servers: [ForwardServer] = []
        do {
            for input in configuration.inputs {
                let server = ForwardServer(configuration: input, pipeline: pipeline, sink: sink, logger: logger, budget: budget,
                                          receiveBudget: receiveBudget, assembler: assembler)
                try server.start()
                servers.append(server)
            }
        } catch {
            for server in servers { server.stop() }
            spool.close()
            throw error
        }

        let deliveryMetrics = DeliveryMetrics()
        let deliverySlots = DeliverySlots(count: UploadSupervisor.batchesInFlight)
        var monitoring: MonitoringServer?
        if service.httpServer {
            let monitor = ShipperMonitor(servers: servers, budget: budget, receiveBudget: receiveBudget, sink: sink, spool: spool, inspector: try SpoolInspector(path: spoolPath),
                                         delivery: deliveryMetrics, slots: deliverySlots, outputNames: configuration.outputs.map(\.output.name))
            monitoring = try MonitoringServer(listen: service.httpListen, port: service.httpPort, logger: logger) { monitor.respond($0) }
        }

        // Each output its own client, with the credentials chain of its region.
        let endpoints = try OutputEndpoint.make(configuration.outputs, environment: ProcessInfo.processInfo.environment, logger: logger)
        for output in configuration.outputs where !output.verifyTLS {
            logger.warning("tls.verify Off: the certificate of \(output.endpoint.absoluteString) is not checked; use this for test endpoints only",
                           metadata: ["output": "\(output.output.name)"])
        }
        let supervisor = UploadSupervisor(spool: spool, endpoints: endpoints, flush: configuration.service.flush, slots: deliverySlots,
                                          logger: logger, metrics: deliveryMetrics)
        await supervisor.start()

        let signal = await stopRequested()
        logger.info("shutting down", metadata: ["signal": "\(signal)", "grace_seconds": "\(configuration.service.grace)"])
        // First, so that no connection stays blocked on a paused spool: what waits for room is refused (not acked).
        spool.stopIntake()
        // Each input drains its connections (at most ForwardServer.drainTime and a little more), side by side.
        let inputs = servers
        let stopping = Date()
        DispatchQueue.concurrentPerform(iterations: inputs.count) { inputs[$0].stop() }
        logger.info("inputs stopped; the uploaders have Grace to finish", metadata: [
            "drain_seconds": "\(String(format: "%.2f", Date().timeIntervalSince(stopping)))", "grace_seconds": "\(configuration.service.grace)"])
        await supervisor.stop(grace: configuration.service.grace)
        monitoring?.stop()
        spool.close()
        logger.info("stopped; undelivered records stay in the spool")
    }
}
