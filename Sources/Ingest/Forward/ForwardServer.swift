import Foundation
import Logging
import Network
import Records

/// The `forward` input: a TCP server speaking the Fluentd Forward protocol.
///
/// A few event loops (`Event_Loops`, `ForwardEventLoop`) serve every
/// connection without blocking: the first also accepts, and hands each new
/// connection to the next loop in turn. Docker keeps one long-lived connection
/// per container, each waiting on its own acks, so what matters is that no
/// client can hold a thread others need, and that an ack costs little.
// Safe to share: `lock` guards `listener`, `heartbeat`, `stopping` and `nextKey`; the loops are told what to do through `execute`; the rest is immutable.
public final class ForwardServer: @unchecked Sendable {
    public let configuration: ForwardServerConfiguration
    private let context: ForwardConnectionContext
    private let logger: Logger
    private let lock = NSLock()
    private var listener: StreamSocket?
    private var heartbeat: DatagramSocket?
    private var stopping = false
    private var nextKey = 0
    private var loops: [ForwardEventLoop] = []
    private let loopsDone = DispatchGroup()
    private let registry: ConnectionRegistry
    /// Connections, bytes and refused clients, for the metrics endpoint.
    public let statistics = ForwardServerStatistics()
    /// Joins Docker's split lines; shared by all connections, since a resent piece may come on a new one.
    public var assembler: PartialMessageAssembler { context.assembler }

    /// How long connections get at a stop to store what their sockets hold and
    /// close by themselves; the loops reset those still open then.
    static let finishTime = 0.6
    /// How long a stop waits for the loops, from the moment the listener closed.
    static let drainTime = 1.0
    /// How long past `drainTime` a stop waits for a loop held in the sink before it goes on without it.
    static let shutdownWait = 0.5
    /// The most connections the acceptor takes from the backlog once a stop began: the listen backlog.
    static let stopAcceptLimit = 1024
    /// The most connections one readiness of the listener accepts, so that a storm of them does not hold the first loop's clients.
    static let acceptsPerWake = 64

    public init(configuration: ForwardServerConfiguration, pipeline: FilterPipeline, sink: IngestSink, logger: Logger, budget: DecodeBudget,
                receiveBudget: DecodeBudget, assembler: PartialMessageAssembler = PartialMessageAssembler()) {
        self.configuration = configuration
        self.logger = logger
        context = ForwardConnectionContext(configuration: configuration, pipeline: pipeline, sink: sink, logger: logger,
                                           statistics: statistics, assembler: assembler, budget: budget, receiveBudget: receiveBudget)
        registry = ConnectionRegistry(maxConnections: configuration.maxConnections, handshakeTimeout: configuration.handshakeTimeout)
    }

    /// Binds the port and starts the loops; returns the bound port.
    @discardableResult
    public func start() throws -> UInt16 {
        // First what may fail without leaving anything running.
        let registry = self.registry, statistics = self.statistics
        let loops = try (0..<max(configuration.eventLoops, 1)).map { index in
            try ForwardEventLoop(name: "forward-loop-\(index)", sink: context.sink, logger: logger) { key in
                registry.release(key)
                statistics.closed()
            }
        }
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
                    let responder = Thread {
                        Thread.current.name = "fwd-heartbeat"
                        udp.answerHeartbeats()
                    }
                    responder.start()
                    // Named from inside and again once started, in at most 15 bytes (Linux drops a longer name): Foundation names only a thread
                    // it knows, and the new thread renames itself as it starts; whichever runs last, one of the two names it.
                    responder.name = "fwd-heartbeat"
                } catch {
                    logger.warning("not answering UDP heartbeats: \(error)", metadata: ["port": "\(port)"])
                }
            }
        }
        lock.lock()
        listener = socket
        self.loops = loops
        lock.unlock()
        for loop in loops { loop.start(loopsDone) }
        let acceptor = loops[0]
        acceptor.execute { [self] in
            acceptor.watch(listener: socket) { [self] in acceptReady(socket, limit: Self.acceptsPerWake) }
        }
        let flusher = Thread { [self] in
            Thread.current.name = "fwd-partial"
            flushIncompleteLines()
        }
        flusher.start()
        // Named from inside and again once started, in at most 15 bytes (Linux drops a longer name): Foundation names only a thread
        // it knows, and the new thread renames itself as it starts; whichever runs last, one of the two names it.
        flusher.name = "fwd-partial"
        logger.info("forward input serving its connections on \(loops.count) event loops")
        if let path = configuration.unixPath {
            logger.info("forward input listening", metadata: ["unix_path": "\(path)"])
        } else {
            logger.info("forward input listening", metadata: ["listen": "\(configuration.listen)", "port": "\(port)"])
        }
        return port
    }

    /// Stops accepting and lets every connection finish: each stores (and acks)
    /// the complete frames its socket already holds, says goodbye, and closes
    /// (`ForwardConnection.finish()`). Connections still open after
    /// `finishTime` (a client that never reads its acks, a TLS handshake that
    /// never ends) are reset by their loops. Returns once the loops are done,
    /// and within `drainTime + shutdownWait` even if one is held in the sink.
    ///
    /// The listener closes before any connection says goodbye: a client that
    /// reconnects when it sees the FIN must be refused (and keep its lines), not
    /// land in a backlog that closing the listener would reset. Before that, the
    /// connections the OS completed already are taken: closing the listener
    /// would reset them, and their clients believe their lines sent.
    public func stop() {
        lock.lock()
        let current = listener
        stopping = true
        listener = nil
        let loops = self.loops
        lock.unlock()
        guard let current, let acceptor = loops.first else { return }
        heartbeat?.stop()
        let closed = DispatchSemaphore(value: 0)
        acceptor.execute { [self] in
            acceptor.stopWatchingListener()
            acceptReady(current, limit: Self.stopAcceptLimit)
            current.close()
            closed.signal()
        }
        let started = DispatchTime.now()
        if closed.wait(timeout: started + Self.drainTime) == .timedOut {
            logger.warning("the forward input's first loop did not close its listener within the drain time")
        }
        let finishing = DispatchTime.now()
        for loop in loops { loop.finish(by: finishing + Self.finishTime) }
        if loopsDone.wait(timeout: started + Self.drainTime + Self.shutdownWait) == .timedOut {
            logger.warning("forward connections still running after the drain time (a loop held in the spool); stopping without them",
                           metadata: ["drain_seconds": "\(Self.drainTime)"])
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
            let due = context.assembler.due()
            if !due.isEmpty {
                var records: [TaggedRecord] = []
                for line in due { context.pipeline.process(line.record, into: &records) }
                do {
                    try context.sink.store([IngestBatch(chunk: nil, records: records, completedLines: due.map(\.key))])
                    logger.warning("stored split lines whose remaining pieces did not come, marked partial_incomplete", metadata: ["lines": "\(due.count)"])
                } catch {
                    logger.error("cannot store incomplete split lines; their pieces stay staged: \(error)")
                }
            }
            if done { return }
        }
    }

    /// Accepts up to `limit` connections waiting on the listener, on the first
    /// loop's thread; the listener never blocks (`StreamSocket.accept`).
    private func acceptReady(_ listener: StreamSocket, limit: Int) {
        var accepted = 0
        while accepted < limit {
            let client: StreamSocket
            do {
                guard let next = try listener.accept() else { return }
                client = next
            } catch {
                if !isStopping { logger.error("accept failed: \(error)") }
                return
            }
            accepted += 1
            admit(client)
        }
    }

    /// Gives a new connection its place among `Max_Connections` and hands it to the next loop.
    private func admit(_ client: StreamSocket) {
        lock.lock()
        nextKey += 1
        let key = nextKey
        let loops = self.loops
        lock.unlock()
        let slot = ConnectionSlot(socket: client)
        switch registry.admit(slot, as: key) {
        case .refused:
            statistics.refused()
            logger.error("closing connection: Max_Connections (\(configuration.maxConnections)) reached", metadata: ["peer": "\(client.peer)"])
            client.shutdown()
            return
        case .admittedInPlaceOf(_, let silent):
            statistics.refused()
            logger.warning("closing a connection that never sent a frame to make room: Max_Connections (\(configuration.maxConnections)) reached",
                           metadata: ["peer": "\(silent.socket.peer)", "admitted": "\(client.peer)"])
            // A reset, not a FIN: a client that never reads learns of it at its next write. Its loop then sees the socket end.
            silent.socket.resetOnClose()
            silent.socket.shutdown()
        case .admitted:
            break
        }
        statistics.opened()
        client.makeNonBlocking()
        client.setSendBufferSize(ForwardConnection.sendBufferBytes)
        let stream: any NonBlockingStream
        do {
            stream = try configuration.tls.map { try $0.session(for: client) } ?? client
        } catch {
            statistics.refused()
            logger.error("closing connection: \(error)", metadata: ["peer": "\(client.peer)"])
            client.shutdown()
            registry.release(key)
            statistics.closed()
            return
        }
        let loop = loops[key % loops.count]
        let connection = ForwardConnection(key: key, stream: stream, loop: loop, context: context, slot: slot, tls: configuration.tls != nil)
        loop.execute { loop.adopt(connection) }
    }
}
