import Dispatch
import Logging
import Network
import Records

/// Why a connection was closed by the server.
enum ForwardConnectionError: Error, CustomStringConvertible {
    case notAFrame(UInt8)
    case frameTooLarge(limit: Int)
    case malformed(MessagePackError)
    case invalidFrame(ForwardFrameError)
    case handshakeFailed(String)

    var description: String {
        switch self {
        case .notAFrame(let byte): return "data does not start a Forward frame (first byte 0x\(String(byte, radix: 16)), expected a msgpack array)"
        case .frameTooLarge(let limit): return "frame larger than Buffer_Max_Size (\(limit) bytes)"
        case .malformed(let error): return "malformed msgpack: \(error)"
        case .invalidFrame(let error): return "invalid frame: \(error)"
        case .handshakeFailed(let reason): return "handshake failed: \(reason)"
        }
    }
}

/// One client connection: reads frames, hands their records to the sink, and acks chunks after commit.
///
/// Everything a read brings in is decoded and handed over together, so a
/// client that pipelines frames gets one commit for all of them. A bad frame
/// ends this connection only; the complete frames before it are kept. At a
/// stop the connection stores what its socket already holds before closing
/// (`finishForStop`), so a client without acks loses nothing to a restart.
final class ForwardConnection {
    /// How long one read waits before the connection looks at `stop` (and
    /// counts towards `Idle_Timeout`): the longest a stop waits for a quiet connection.
    static let tick = 0.25

    private let socket: any ByteStream
    private let stop: ForwardStop
    /// Its place among `Max_Connections`, kept for good once a frame came.
    private let slot: ConnectionSlot
    private let configuration: ForwardServerConfiguration
    private let pipeline: FilterPipeline
    private let sink: IngestSink
    private let logger: Logger
    private let limits: ForwardFrame.Limits
    private let statistics: ForwardServerStatistics
    private let assembler: PartialMessageAssembler
    /// Acks the spool's writer has yet to send; the connection closes only after them.
    private let pendingAcks = DispatchGroup()
    /// What the frames of the current read hold of the process-wide `DecodeBudget`, until the sink takes them.
    private var pending: PendingFrameBytes

    /// The most one read takes: what one read brings in is decoded and held
    /// at once, so this bounds a connection's working memory.
    static let maxRead = 128 * 1024

    /// Received bytes; `buffer[consumed..<filled]` is not decoded yet.
    private let buffer: ReceiveBuffer
    private var consumed = 0
    private var filled = 0
    /// Where scanning the unfinished frame at `consumed` got to: each read
    /// scans only the bytes it brought, however slowly a large frame arrives.
    private var pendingFrame: MessagePackScanner?

    init(socket: any ByteStream, configuration: ForwardServerConfiguration, pipeline: FilterPipeline, sink: IngestSink, logger: Logger,
         statistics: ForwardServerStatistics, assembler: PartialMessageAssembler, stop: ForwardStop, slot: ConnectionSlot, budget: DecodeBudget) {
        self.socket = socket
        self.pending = PendingFrameBytes(budget: budget)
        self.stop = stop
        self.slot = slot
        self.statistics = statistics
        self.assembler = assembler
        self.configuration = configuration
        self.pipeline = pipeline
        self.sink = sink
        self.logger = logger
        let decoder = MessagePackDecoder(maxLength: configuration.bufferMaxSize, maxDepth: 64)
        self.limits = ForwardFrame.Limits(maxInflatedBytes: configuration.bufferMaxSize, maxEntries: configuration.maxEntriesPerFrame,
                                          maxRecordBytes: configuration.maxRecordSize, decoder: decoder)
        self.buffer = ReceiveBuffer(capacity: Self.initialBufferBytes(configuration))
    }

    /// Serves the connection until the peer closes it, it misbehaves, or the server stops.
    func serve() {
        defer {
            // A client that half-closes after its last frame still gets that frame's ack.
            pendingAcks.wait()
            socket.shutdown()
        }
        // Set once: the tick costs nothing while data flows (one recv per read, as without it).
        socket.setReceiveTimeout(Self.tick)
        do {
            if let handshake = configuration.handshake { try authenticate(handshake) }
            // One per connection, so its memos last from read to read.
            var received = ReceivedFrames(pipeline: pipeline, tagPrefix: configuration.tagPrefix, assembler: assembler, sink: sink)
            var read = try nextRead()
            while read == .bytes {
                try take(&received, acking: true)
                read = stop.isRequested ? .stop : try nextRead()
            }
            if read == .stop { try finishForStop(&received) }
            if filled > consumed {
                logger.warning("connection closed inside a frame; its partial frame was not acknowledged", metadata: ["peer": "\(socket.peer)", "bytes": "\(filled - consumed)"])
            }
        } catch let error as ForwardConnectionError {
            statistics.refused()
            logger.error("closing connection: \(error)", metadata: ["peer": "\(socket.peer)"])
        } catch let error as SocketError where error.isTimeout {
            logger.warning("closing connection idle for Idle_Timeout (\(configuration.idleTimeout) s)", metadata: ["peer": "\(socket.peer)"])
        } catch let error where stop.isRequested {
            // Typically a paused spool refusing, or a wait for the decode budget given up, at the stop: the client resends what was not acked.
            logger.warning("closing connection at the stop; what it sent since its last ack was not acknowledged: \(error)", metadata: ["peer": "\(socket.peer)"])
        } catch {
            logger.error("closing connection: \(error)", metadata: ["peer": "\(socket.peer)"])
        }
    }

    /// What `nextRead` found.
    private enum Read {
        case bytes
        case endOfStream
        case stop
    }

    /// Reads more bytes, waiting tick by tick; at a tick it answers `.stop` if the
    /// server is stopping, and throws the timeout once `Idle_Timeout` is reached.
    /// During the handshake it throws once `deadline` has passed, looked at before
    /// every read: a PING trickled a byte at a time never lets a read time out.
    private func nextRead(until deadline: DispatchTime? = nil) throws -> Read {
        var quietTicks = 0
        while true {
            if let deadline, DispatchTime.now() >= deadline {
                throw ForwardConnectionError.handshakeFailed("no PING within Handshake_Timeout (\(configuration.handshakeTimeout) s)")
            }
            do {
                return try receive() ? .bytes : .endOfStream
            } catch let error as SocketError where error.isTimeout {
                if stop.isRequested { return .stop }
                quietTicks += 1
                if configuration.idleTimeout > 0 && Double(quietTicks) * Self.tick >= configuration.idleTimeout { throw error }
            }
        }
    }

    /// Decodes the complete frames received and stores their records (acking
    /// them with `acking`); a bad frame is thrown after the good ones before it.
    /// What they held of the decode budget is given back once the sink has them
    /// (on a plain socket before the commit: the spool's queue has its own bound).
    private func take(_ received: inout ReceivedFrames, acking: Bool) throws {
        defer {
            received.clearFrames()
            pending.release()
        }
        let failure = decodeAvailableFrames { received.add(&$0) }
        if !received.batches.isEmpty { slot.markSentFrame() }
        if let acks = try deliver(received, acking: acking) {
            // The frames and their share of the budget go before the blocking write:
            // a TLS client slow to read its acks then holds only its own thread.
            received.clearFrames()
            pending.release()
            try socket.write(acks)
        }
        if let failure { throw failure }
    }

    /// Ends the connection at a stop without losing what the client sent.
    ///
    /// First every complete frame the client already delivered to the socket is
    /// read, stored and acked. Then a FIN says goodbye, and reading goes on until
    /// the client closes its side or the stop's time is up: a client that checks
    /// for the FIN before writing (fluent-logger, Fluent Bit) keeps its next lines
    /// for its next connection, and whatever it wrote before it saw the FIN is
    /// still read and stored here (no acks can follow a FIN; an acking client
    /// resends those frames and their chunk ids store them once). A client still
    /// there at the end (Docker's driver never reads) gets its last bytes read
    /// and then a reset, so that its next write fails and is sent again.
    private func finishForStop(_ received: inout ReceivedFrames) throws {
        while !stop.isOverdue && socket.isReadable {
            guard try storeNextRead(&received, acking: true) else { return }
        }
        pendingAcks.wait()
        socket.shutdownSending()
        while !stop.isOverdue {
            guard try storeNextRead(&received, acking: false) else { return }
        }
        // What fits in a socket's receive buffer, however fast the client still writes.
        var reads = 0
        while reads < 16 && socket.isReadable {
            reads += 1
            guard try storeNextRead(&received, acking: false) else { return }
        }
        socket.resetOnClose()
    }

    /// Reads once and stores the complete frames; `false` once the client has
    /// closed its side. A read that runs into the tick (over TLS: inside a
    /// partial record) brings nothing and answers `true`.
    private func storeNextRead(_ received: inout ReceivedFrames, acking: Bool) throws -> Bool {
        do {
            guard try receive() else { return false }
        } catch let error as SocketError where error.isTimeout {
            return true
        }
        try take(&received, acking: acking)
        return true
    }

    /// The buffer a connection starts with, and goes back to after a large frame.
    private static func initialBufferBytes(_ configuration: ForwardServerConfiguration) -> Int {
        min(configuration.bufferChunkSize, 256 * 1024)
    }

    /// Runs HELO / PING / PONG before any frame is taken; a client that fails it is told why and closed.
    ///
    /// Until it has passed, a client gets little: its PING may take
    /// `maxBytesBeforeAuthentication` bytes and a shallow value, and it must
    /// arrive within `Handshake_Timeout`.
    private func authenticate(_ handshake: ForwardHandshake) throws {
        let session = handshake.newSession()
        try socket.write(handshake.helo(session))
        let limit = ForwardServerConfiguration.maxBytesBeforeAuthentication
        let decoder = MessagePackDecoder(maxLength: limit, maxDepth: 4)
        let deadline = DispatchTime.now() + configuration.handshakeTimeout
        var scanner = MessagePackScanner(limitsOf: decoder)
        var length: Int?
        while length == nil {
            switch try nextRead(until: deadline) {
            case .bytes: break
            case .endOfStream: throw ForwardConnectionError.handshakeFailed("the client closed the connection before PING")
            case .stop: throw ForwardConnectionError.handshakeFailed("the shipper is stopping")
            }
            do {
                length = try scanner.scan(UnsafeBufferPointer(rebasing: buffer.filled(filled)[consumed...]))
            } catch let error as MessagePackError {
                throw ForwardConnectionError.malformed(error)
            }
            if length == nil && filled - consumed > limit {
                throw ForwardConnectionError.handshakeFailed("more than \(limit) bytes sent before authenticating")
            }
        }
        let ping: MessagePackValue
        do {
            var offset = consumed
            ping = try decoder.decode(buffer.filled(filled), offset: &offset)
            consumed = offset
        } catch let error as MessagePackError {
            throw ForwardConnectionError.malformed(error)
        }
        let (pong, accepted, reason) = handshake.answer(ping, session: session)
        try socket.write(pong)
        guard accepted else { throw ForwardConnectionError.handshakeFailed(reason) }
    }

    /// Reads more bytes; `false` at end of stream.
    ///
    /// The buffer starts small and grows (doubling, up to `Buffer_Max_Size` plus
    /// one chunk) only when a single frame does not fit, so a connection that
    /// streams small frames keeps a small buffer.
    private func receive() throws -> Bool {
        if consumed == filled {
            consumed = 0
            filled = 0
            // A large frame is done: give its buffer back rather than keep it for the connection's life.
            let initial = Self.initialBufferBytes(configuration)
            if buffer.capacity > initial { buffer.shrink(to: initial) }
        }
        if buffer.capacity - filled < 4096 && consumed > 0 {
            buffer.moveToStart(consumed..<filled)
            filled -= consumed
            consumed = 0
        }
        if filled == buffer.capacity {
            let wanted = min(buffer.capacity * 2, configuration.bufferMaxSize + configuration.bufferChunkSize)
            guard wanted > buffer.capacity else { throw ForwardConnectionError.frameTooLarge(limit: configuration.bufferMaxSize) }
            buffer.grow(to: wanted, keeping: filled)
        }
        let n = try socket.read(into: buffer.room(from: filled, limit: Self.maxRead))
        filled += n
        statistics.received(n)
        return n > 0
    }

    /// Decodes every complete frame in the buffer and hands each to `handle` at
    /// once, so a decoded frame is released before the next is decoded; stops at
    /// the first bad frame, or a stop while waiting for the decode budget, and returns why.
    ///
    /// A frame's wire bytes are claimed from the budget before it is parsed, and
    /// what parsing makes (inflated bytes, records) as it is made: a connection
    /// waits for room before it holds more, not after. A wait gives up once the
    /// stop is overdue, like the rest of the stop (`finishForStop`).
    private func decodeAvailableFrames(_ handle: (inout ForwardFrame) -> Void) -> Error? {
        let decoder = limits.decoder
        let bytes = buffer.filled(filled)
        while consumed < filled {
            let first = bytes[consumed]
            guard (0x90...0x9f).contains(first) || first == 0xdc || first == 0xdd else {
                return ForwardConnectionError.notAFrame(first)
            }
            var scanner = pendingFrame ?? MessagePackScanner(limitsOf: decoder)
            let length: Int
            do {
                guard let complete = try scanner.scan(UnsafeBufferPointer(rebasing: bytes[consumed...])) else {
                    pendingFrame = scanner
                    return filled - consumed > configuration.bufferMaxSize ? ForwardConnectionError.frameTooLarge(limit: configuration.bufferMaxSize) : nil
                }
                length = complete
            } catch let error as MessagePackError {
                return ForwardConnectionError.malformed(error)
            } catch {
                return nil
            }
            pendingFrame = nil
            let stop = self.stop
            do {
                try pending.claim(length) { stop.isOverdue }
                var frame = try ForwardFrame(parsing: UnsafeBufferPointer(rebasing: bytes[consumed..<consumed + length]), limits: limits) {
                    try self.pending.claim($0) { stop.isOverdue }
                }
                handle(&frame)
                consumed += length
            } catch let error as MessagePackError {
                return ForwardConnectionError.malformed(error)
            } catch let error as ForwardFrameError {
                return ForwardConnectionError.invalidFrame(error)
            } catch {
                return error
            }
        }
        return nil
    }

    /// Stores the frames' records; with `acking`, the chunks that asked for it
    /// are acked once they are committed. On a plain socket the spool's writer
    /// sends the acks itself, so this thread goes straight back to reading (one
    /// wake-up less per acked frame); over TLS this thread waits and sends them.
    ///
    /// The writer serves every connection, so it never waits for one: a client
    /// whose socket cannot take its acks at once has left a whole send buffer
    /// of them unread (hundreds of acks at the least), and its connection is
    /// reset with a logged error. What it sent since stays unacked, so it resends it.
    /// Returns the acks still to be written by this connection's own thread (a
    /// stream that may not be written while read, such as TLS), nil when none are.
    private func deliver(_ received: ReceivedFrames, acking: Bool) throws -> [UInt8]? {
        guard !received.batches.isEmpty else { return nil }
        guard acking && !received.chunks.isEmpty else {
            try sink.accept(received.batches, whenStored: nil)
            return nil
        }
        var encoder = MessagePackEncoder()
        for chunk in received.chunks {
            encoder.encode(.map([MessagePackPair(key: .string("ack"), value: chunk)]))
        }
        let acks = encoder.bytes
        guard socket.allowsWriteDuringRead, let plain = socket as? StreamSocket else {
            try sink.store(received.batches)
            return acks
        }
        let socket = self.socket
        let logger = self.logger
        pendingAcks.enter()
        do {
            try sink.accept(received.batches) { [pendingAcks] error in
                defer { pendingAcks.leave() }
                if let error {
                    logger.error("closing connection: its records could not be stored, so they are not acked: \(error)", metadata: ["peer": "\(socket.peer)"])
                    socket.shutdown()
                } else if (try? plain.writeWithoutWaiting(acks)) == false {
                    logger.error("closing connection: the client does not read its acks (its socket cannot take more); it resends what was not acked",
                                 metadata: ["peer": "\(socket.peer)"])
                    plain.resetOnClose()
                    plain.shutdown()
                }
            }
        } catch {
            pendingAcks.leave()
            throw error
        }
        return nil
    }
}

/// The filtered records of the frames one read brought in, and the chunks to ack once they are stored.
struct ReceivedFrames {
    var batches: [IngestBatch] = []
    var chunks: [MessagePackValue] = []
    private let pipeline: FilterPipeline
    private let tagPrefix: String
    private let assembler: PartialMessageAssembler
    private let sink: IngestSink
    private var memo: FilterPipeline.Memo
    /// The last frame's tag with `Tag_Prefix` added: frames in a row usually share it.
    private var lastTag: (received: String, prefixed: String)?

    init(pipeline: FilterPipeline, tagPrefix: String, assembler: PartialMessageAssembler, sink: IngestSink) {
        self.pipeline = pipeline
        self.tagPrefix = tagPrefix
        self.assembler = assembler
        self.sink = sink
        memo = pipeline.makeMemo()
    }

    /// Forgets the frames handed over, keeping the memos for the next read.
    mutating func clearFrames() {
        batches = []
        chunks = []
    }

    /// Takes the frame's records (leaving it empty), so that each is the only
    /// copy of its bytes and filters edit it in place.
    mutating func add(_ frame: inout ForwardFrame) {
        let tag: String
        if let lastTag, lastTag.received == frame.tag {
            tag = lastTag.prefixed
        } else {
            tag = tagPrefix + frame.tag
            lastTag = (frame.tag, tag)
        }
        var batch = IngestBatch(chunk: frame.chunk.map(Self.chunkKey), records: [])
        if let chunk = frame.chunk, let key = batch.chunk, sink.hasStored(chunk: key) {
            // A resend of a frame already stored: ack it again, store and join nothing.
            batches.append(batch)
            chunks.append(chunk)
            return
        }
        var entries: [(time: EventTime, record: LogRecord)] = []
        swap(&entries, &frame.entries)
        batch.records.reserveCapacity(entries.count)
        for index in entries.indices {
            var record = LogRecord()
            swap(&record, &entries[index].record)
            // Split lines are joined before the filters see them.
            switch assembler.add(TaggedRecord(tag: tag, time: entries[index].time, record: record)) {
            case .whole(let record):
                pipeline.process(record, into: &batch.records, memo: &memo)
            case .held(let piece):
                batch.staged.append(piece)
            case .completed(let record, let key, _):
                pipeline.process(record, into: &batch.records, memo: &memo)
                batch.completedLines.append(key)
            }
        }
        batches.append(batch)
        if let chunk = frame.chunk { chunks.append(chunk) }
    }

    /// The longest chunk id kept as it is; Fluentd and Docker send 24 bytes.
    static let maxChunkKeyBytes = 64

    /// The bytes that identify a chunk: the id itself for the usual string or
    /// binary. A longer id (or one of another type) is kept as its SHA-512
    /// digest behind a 0xff marker, so that remembering the last thousands of
    /// chunks costs the same whatever ids a client makes up.
    static func chunkKey(_ chunk: MessagePackValue) -> [UInt8] {
        let bytes: [UInt8]
        switch chunk {
        case .string(let id), .binary(let id): bytes = id
        default: bytes = MessagePackEncoder.encoded(chunk)
        }
        guard bytes.count > maxChunkKeyBytes else { return bytes }
        return [0xff] + ForwardHandshake.sha512(bytes)
    }
}
