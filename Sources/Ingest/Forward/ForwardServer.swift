import Foundation
import Logging

/// The `forward` input: a TCP server speaking the Fluentd Forward protocol.
///
/// One thread accepts and one small thread serves each connection: Docker
/// keeps one long-lived connection per container, each waiting on its own
/// acks, so blocking I/O per connection is both simple and fast here, and it
/// runs the same on Windows.
public final class ForwardServer: @unchecked Sendable {
    public let configuration: ForwardServerConfiguration
    private let pipeline: FilterPipeline
    private let sink: IngestSink
    private let logger: Logger
    private let lock = NSLock()
    private var listener: TCPSocket?
    private var connections: [ObjectIdentifier: TCPSocket] = [:]
    private var stopping = false
    private let acceptorDone = DispatchSemaphore(value: 0)
    /// Connections, bytes and refused clients, for the metrics endpoint.
    public let statistics = ForwardServerStatistics()
    private let connectionsDone = DispatchGroup()

    public init(configuration: ForwardServerConfiguration, pipeline: FilterPipeline, sink: IngestSink, logger: Logger) {
        self.configuration = configuration
        self.pipeline = pipeline
        self.sink = sink
        self.logger = logger
    }

    /// Binds the port and starts accepting; returns the bound port.
    @discardableResult
    public func start() throws -> UInt16 {
        let socket = try TCPSocket.listen(host: configuration.listen, port: configuration.port)
        let port = socket.localPort
        lock.lock()
        listener = socket
        lock.unlock()
        let thread = Thread { [self] in acceptLoop(socket) }
        thread.name = "forward-accept"
        thread.start()
        logger.info("forward input listening", metadata: ["listen": "\(configuration.listen)", "port": "\(port)"])
        return port
    }

    /// Stops accepting, ends every connection's read, and waits until their
    /// last handed-over records have been stored (or refused).
    public func stop() {
        lock.lock()
        stopping = true
        let current = listener
        let open = Array(connections.values)
        lock.unlock()
        guard let current else { return }
        current.shutdown()
        acceptorDone.wait()
        for socket in open { socket.shutdown() }
        connectionsDone.wait()
    }

    private func acceptLoop(_ socket: TCPSocket) {
        defer { acceptorDone.signal() }
        while true {
            let client: TCPSocket
            do {
                client = try socket.accept()
            } catch {
                lock.lock()
                let done = stopping
                lock.unlock()
                if done { return }
                logger.error("accept failed: \(error)")
                Thread.sleep(forTimeInterval: 0.1)
                continue
            }
            lock.lock()
            if stopping {
                lock.unlock()
                client.shutdown()
                return
            }
            if connections.count >= configuration.maxConnections {
                lock.unlock()
                statistics.refused()
                logger.error("closing connection: Max_Connections (\(configuration.maxConnections)) reached", metadata: ["peer": "\(client.peer)"])
                client.shutdown()
                continue
            }
            let key = ObjectIdentifier(client)
            connections[key] = client
            connectionsDone.enter()
            lock.unlock()
            let connection = ForwardConnection(socket: client, configuration: configuration, pipeline: pipeline, sink: sink, logger: logger, statistics: statistics)
            statistics.opened()
            let thread = Thread { [self] in
                connection.serve()
                statistics.closed()
                lock.lock()
                connections[key] = nil
                lock.unlock()
                connectionsDone.leave()
            }
            thread.stackSize = 1 << 20
            thread.name = "forward-connection"
            thread.start()
        }
    }
}
