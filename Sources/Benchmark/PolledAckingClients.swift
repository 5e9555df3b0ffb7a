import ArgumentParser
import Foundation
import Network

/// Acking connections shared among a few client threads, each waiting on a
/// `ReadinessPoller` for whichever of its connections has an ack: the shape
/// of Docker's fluentd driver with `fluentd-request-ack`.
///
/// dockerd runs each container's logger as a goroutine that writes a line and
/// then reads its ack (fluent-logger-golang's `write`), and Go parks a
/// goroutine that reads on its netpoller (epoll on Linux), running them all on
/// as many threads as the host has cores (GOMAXPROCS). So an ack the shipper
/// sends wakes a thread only when that thread waits for all of its
/// connections, not once per ack as a thread blocked on each socket would:
/// which of the two the client is decides a good part of what an ack costs
/// the shipper's `send`.
struct PolledAckingClients {
    let port: UInt16
    let connections: Int
    /// Connection c sends as a container of ECS task c modulo `streams`.
    let streams: Int
    let threads: Int
    let framesPerConnection: Int
    let recordsPerFrame: Int
    let logBytes: Int
    let time: Int64
    /// How long a thread waits for any ack before it gives up.
    static let ackTimeout = 60.0

    /// Runs every connection to its last ack; throws the first failure.
    func run(latencies: LatencyRecorder) throws {
        try ClientThreads.run(threads, named: "client thread") { t in
            try serve(Array(stride(from: t, to: connections, by: threads)), latencies: latencies)
        }
    }

    /// One client connection: its socket, its frame and how far it got.
    private final class Connection {
        let socket: StreamSocket
        var frames: ChunkedFrames
        var sent = 0
        var sentAt = Date()

        init(socket: StreamSocket, frames: ChunkedFrames) {
            self.socket = socket
            self.frames = frames
        }

        func sendNext() throws {
            let bytes = frames.frame(sent)
            sent += 1
            sentAt = Date()
            try socket.write(bytes)
        }
    }

    /// Sends on `keys`' connections, one frame in flight on each, until each has had all its acks.
    private func serve(_ keys: [Int], latencies: LatencyRecorder) throws {
        let poller = try ReadinessPoller()
        var open: [Int: Connection] = [:]
        defer { for connection in open.values { connection.socket.shutdown() } }
        for key in keys {
            let connection = Connection(socket: try StreamSocket.connect(host: "127.0.0.1", port: port),
                                        frames: ChunkedFrames(connection: key, task: key % streams, recordsPerFrame: recordsPerFrame,
                                                           logBytes: logBytes, time: time))
            open[key] = connection
            try poller.register(connection.socket, as: key, for: .readable)
            try connection.sendNext()
        }
        var samples: [Double] = []
        samples.reserveCapacity(keys.count * framesPerConnection)
        var ackBuffer = [UInt8](repeating: 0, count: 256)
        var failure: Error?
        while !open.isEmpty {
            var acked = false
            try poller.wait(seconds: Self.ackTimeout) { key, _ in
                guard failure == nil, let connection = open[key] else { return }
                do {
                    let n = try ackBuffer.withUnsafeMutableBytes { try connection.socket.read(into: $0) }
                    guard n > 0 else { throw ValidationError("the shipper closed connection \(key) before acking") }
                    acked = true
                    samples.append(Date().timeIntervalSince(connection.sentAt))
                    if connection.sent < framesPerConnection {
                        try connection.sendNext()
                    } else {
                        poller.deregister(key)
                        connection.socket.shutdown()
                        open[key] = nil
                    }
                } catch {
                    failure = error
                }
            }
            if let failure { throw failure }
            guard acked else { throw ValidationError("no ack within \(Int(Self.ackTimeout)) s on \(open.count) connections") }
        }
        latencies.add(contentsOf: samples)
    }
}
