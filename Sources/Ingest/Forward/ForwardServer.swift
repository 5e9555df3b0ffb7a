import Foundation
import Logging
import Network
import Records

/// The `forward` input: a TCP server speaking the Fluentd Forward protocol.
///
/// One thread accepts and one small thread serves each connection: Docker
/// keeps one long-lived connection per container, each waiting on its own
/// acks, so blocking I/O per connection is both simple and fast here, and it
/// runs the same on Windows.
// Safe to share: `lock` guards `listener`, `heartbeat`, `connections` and `stopping`; the rest is immutable.
public final class ForwardServer: @unchecked Sendable {
    public let configuration: ForwardServerConfiguration
    private let pipeline: FilterPipeline
    private let sink: IngestSink
    private let logger: Logger
    private let lock = NSLock()
    private var listener: StreamSocket?
    private var heartbeat: DatagramSocket?
    private var connections: [ObjectIdentifier: ConnectionSlot] = [:]
    private var stopping = false
    private let acceptorDone = DispatchSemaphore(value: 0)
    /// Connections, bytes and refused clients, for the metrics endpoint.
    public let statistics = ForwardServerStatistics()
    /// Joins Docker's split lines; shared by all connections, since a resent piece may come on a new one.
    public let assembler: PartialMessageAssembler
    private let connectionsDone = DispatchGroup()
    /// Tells the connections to finish, at `stop()`.
    private let stopRequest = ForwardStop()
    /// Bounds what all connections (of every input sharing it) hold decoded at once.
    private let budget: DecodeBudget

    /// How long connections get at a stop to store what their sockets hold and
    /// close by themselves; those still open after `drainTime` are shut down.
    static let finishTime = 0.6
    static let drainTime = 1.0
    /// How long a stop waits, after shutting the remaining sockets down, for their threads.
    static let shutdownWait = 0.5

    public init(configuration: ForwardServerConfiguration, pipeline: FilterPipeline, sink: IngestSink, logger: Logger, budget: DecodeBudget,
                assembler: PartialMessageAssembler = PartialMessageAssembler()) {
        self.configuration = configuration
        self.budget = budget
        self.assembler = assembler
        self.pipeline = pipeline
        self.sink = sink
        self.logger = logger
    }

    /// Binds the port and starts accepting; returns the bound port.
    @discardableResult
    public func start() throws -> UInt16 {
        let socket: StreamSocket
        var port: UInt16 = 0
        if let path = configuration.unixPath {
            socket = try StreamSocket.listenUnix(path: path, permissions: configuration.unixPermissions)
        } else {
            socket = try StreamSocket.listen(host: configuration.listen, port: configuration.port)
            port = socket.localPort
            if configuration.heartbeats {
                do {
                    let udp = try DatagramSocket(host: configuration.listen, port: port)
                    heartbeat = udp
                    let responder = Thread { udp.answerHeartbeats() }
                    responder.name = "forward-heartbeat"
                    responder.start()
                } catch {
                    logger.warning("not answering UDP heartbeats: \(error)", metadata: ["port": "\(port)"])
                }
            }
        }
        lock.lock()
        listener = socket
        lock.unlock()
        let thread = Thread { [self] in acceptLoop(socket) }
        thread.name = "forward-accept"
        thread.start()
        let flusher = Thread { [self] in flushIncompleteLines() }
        flusher.name = "forward-partial-flush"
        flusher.start()
        if let path = configuration.unixPath {
            logger.info("forward input listening", metadata: ["unix_path": "\(path)"])
        } else {
            logger.info("forward input listening", metadata: ["listen": "\(configuration.listen)", "port": "\(port)"])
        }
        return port
    }

    /// Stops accepting and lets every connection finish: each stores (and acks)
    /// the complete frames its socket already holds, says goodbye, and closes.
    /// Connections still open after `drainTime` (a client that never reads its
    /// acks, a TLS handshake that never ends, an append the spool holds) are
    /// shut down, which wakes their blocked reads and sends. Returns within
    /// `drainTime + shutdownWait` plus one tick.
    ///
    /// The listener closes before any connection says goodbye: a client that
    /// reconnects when it sees the FIN must be refused (and keep its lines), not
    /// land in a backlog that closing the listener would reset.
    public func stop() {
        lock.lock()
        let current = listener
        stopping = true
        listener = nil
        lock.unlock()
        guard let current else { return }
        heartbeat?.stop()
        acceptorDone.wait()
        current.close()
        let started = DispatchTime.now()
        stopRequest.request(finishBy: started + Self.finishTime)
        guard connectionsDone.wait(timeout: started + Self.drainTime) == .timedOut else { return }
        lock.lock()
        let open = connections.values.map(\.socket)
        lock.unlock()
        logger.warning("shutting down connections still open after the drain time", metadata: ["connections": "\(open.count)", "drain_seconds": "\(Self.drainTime)"])
        for socket in open {
            // As at the end of `finishForStop`: a client that never reads learns of the close at its next write.
            socket.resetOnClose()
            socket.shutdown()
        }
        if connectionsDone.wait(timeout: .now() + Self.shutdownWait) == .timedOut {
            logger.warning("connections still running after their sockets were shut down; stopping without them")
        }
    }

    private var isStopping: Bool {
        lock.lock()
        defer { lock.unlock() }
        return stopping
    }

    /// Once a second, stores the split lines that waited too long for their
    /// remaining pieces (or hold too much memory), as far as they got.
    private func flushIncompleteLines() {
        while true {
            Thread.sleep(forTimeInterval: 1)
            lock.lock()
            let done = stopping
            lock.unlock()
            let due = assembler.due()
            if !due.isEmpty {
                var records: [TaggedRecord] = []
                for line in due { pipeline.process(line.record, into: &records) }
                do {
                    try sink.store([IngestBatch(chunk: nil, records: records, completedLines: due.map(\.key))])
                    logger.warning("stored split lines whose remaining pieces did not come, marked partial_incomplete", metadata: ["lines": "\(due.count)"])
                } catch {
                    logger.error("cannot store incomplete split lines; their pieces stay staged: \(error)")
                }
            }
            if done { return }
        }
    }

    /// Accepts in ticks, so that a stop reaches it without closing the listener
    /// under a blocked `accept` (shutdown does not wake one on Windows). At the
    /// stop it takes the connections the OS completed already: closing the
    /// listener would reset them, and their clients believe their lines sent.
    private func acceptLoop(_ listener: StreamSocket) {
        defer { acceptorDone.signal() }
        while !isStopping {
            if listener.isReadable(within: ForwardConnection.tick) && !acceptOne(listener) {
                Thread.sleep(forTimeInterval: 0.1)
            }
        }
        // Bounded: clients that reconnect at once when refused must not keep the stop here.
        var drained = 0
        while drained < Self.stopAcceptLimit && listener.isReadable(within: 0) && acceptOne(listener) { drained += 1 }
    }

    /// The most connections the acceptor takes from the backlog once a stop began: the listen backlog.
    static let stopAcceptLimit = 1024

    /// Accepts one connection and starts its thread; `false` if accept failed
    /// or found none after all (a client that gave up in the backlog).
    private func acceptOne(_ listener: StreamSocket) -> Bool {
        let client: StreamSocket
        do {
            guard let accepted = try listener.accept() else { return false }
            client = accepted
        } catch {
            if !isStopping { logger.error("accept failed: \(error)") }
            return false
        }
        lock.lock()
        if connections.count >= configuration.maxConnections {
            // Full: a connection that never sent a frame makes room, else the newcomer is refused.
            // Only one silent for longer than a handshake may take: churn must not evict a connection just made.
            let silentSince = DispatchTime.now().uptimeNanoseconds &- UInt64(configuration.handshakeTimeout * 1e9)
            guard let (silentKey, silent) = connections.filter({ !$0.value.hasSentFrame && $0.value.opened <= silentSince })
                .min(by: { $0.value.opened < $1.value.opened }) else {
                lock.unlock()
                statistics.refused()
                logger.error("closing connection: Max_Connections (\(configuration.maxConnections)) reached", metadata: ["peer": "\(client.peer)"])
                client.shutdown()
                return true
            }
            connections[silentKey] = nil
            lock.unlock()
            statistics.refused()
            logger.warning("closing a connection that never sent a frame to make room: Max_Connections (\(configuration.maxConnections)) reached",
                           metadata: ["peer": "\(silent.socket.peer)", "admitted": "\(client.peer)"])
            // A reset, not a FIN: a client that never reads learns of it at its next write.
            silent.socket.resetOnClose()
            silent.socket.shutdown()
            lock.lock()
        }
        let key = ObjectIdentifier(client)
        let slot = ConnectionSlot(socket: client)
        connections[key] = slot
        connectionsDone.enter()
        lock.unlock()
        statistics.opened()
        let thread = Thread { [self] in
            defer {
                statistics.closed()
                lock.lock()
                if connections[key] === slot { connections[key] = nil }
                lock.unlock()
                connectionsDone.leave()
            }
            var stream: any ByteStream = client
            if let tls = configuration.tls {
                do {
                    // A client that opens a connection and says nothing must not hold a thread for good.
                    client.setHandshakeReceiveTimeout(configuration.handshakeTimeout)
                    stream = try tls.accept(client)
                    // Windows keeps SO_RCVTIMEO for OpenSSL's own reads; the connection's ticks take over now.
                    client.setHandshakeReceiveTimeout(0)
                } catch {
                    statistics.refused()
                    logger.error("closing connection: \(error)", metadata: ["peer": "\(client.peer)"])
                    client.shutdown()
                    return
                }
            }
            ForwardConnection(socket: stream, configuration: configuration, pipeline: pipeline, sink: sink, logger: logger,
                              statistics: statistics, assembler: assembler, stop: stopRequest, slot: slot, budget: budget).serve()
        }
        thread.stackSize = 1 << 20
        thread.name = "forward-connection"
        thread.start()
        return true
    }
}
