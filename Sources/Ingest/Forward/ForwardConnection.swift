import Dispatch
import Logging
import Network
import Records

/// One client connection, driven by the `ForwardEventLoop` that owns it:
/// reads what the socket holds, decodes frames, stages their records on the loop for the
/// sink, and writes each chunk's ack once the spool has committed it. Nothing
/// here waits: a call does what the socket allows and says, through
/// `interest`, which readiness to come back for.
///
/// Everything a read brings in is decoded and handed over together, so a
/// client that pipelines frames gets one commit for all of them. A bad frame
/// ends this connection only; the complete frames before it are kept. At a
/// stop the connection stores what its socket already holds before closing
/// (`finish()`), so a client without acks loses nothing to a restart.
// Safe to share: made on the accepting loop's thread and handed once to its own loop (`ForwardEventLoop.adopt`), whose thread alone uses it from then on.
final class ForwardConnection: @unchecked Sendable {
    /// How often the loop looks at deadlines (`Idle_Timeout`, handshakes, the stop).
    static let tick = 0.25

    /// The most one read takes: what a read brings in is decoded at once and
    /// held until the loop hands its pass over (after at most four reads, or
    /// `StagedDeliveries.maxRecords` records), so this bounds a connection's working memory.
    static let maxRead = 128 * 1024

    /// How many bytes of acks may wait for a client that does not read them:
    /// about 7,000 acks of Docker's 24-byte chunk ids, on top of what the
    /// socket's own send buffer holds (`sendBufferBytes`). Past it the connection is closed (its
    /// client resends what was not acked), so it costs nobody else memory.
    static let maxUnsentAckBytes = 256 * 1024

    /// The key of an ack map, `{"ack": chunk}`.
    private static let ackKey = Array("ack".utf8)
    /// `{"ack": id}` for a 24-byte id: the map's header, "ack" and the id, each with its header.
    private static let usualAckBytes = 1 + 4 + 2 + 24

    /// The kernel's send buffer for a connection: a client is only sent acks
    /// and the handshake, and one that does not read them then reaches
    /// `maxUnsentAckBytes` after a few thousand acks rather than after the
    /// megabytes the kernel would buffer for it.
    static let sendBufferBytes = 64 * 1024

    /// What `finish()` reads at most once the stop is overdue: what fits in a
    /// socket's receive buffer, however fast the client still writes.
    static let finalReads = 16

    private enum Phase {
        /// TLS is being set up; the connection closes if it is not done by the deadline.
        case tlsHandshake(deadline: DispatchTime)
        /// HELO sent; the client has until the deadline for its PING.
        case awaitingPing(ForwardHandshake.Session, deadline: DispatchTime)
        case serving
        /// A stop began: what the socket holds is read, stored and acked.
        case drainingForStop
        /// The socket is drained: the last acks go out, then the goodbye (a FIN).
        case awaitingAcksForStop
        /// Goodbye said: what the client still sends is stored (no acks can follow a FIN) until it closes.
        case afterGoodbye
        /// The client closed its side: its last acks go out, then the connection closes.
        case clientClosed
        case closed
    }

    let key: Int
    private let stream: any NonBlockingStream
    private unowned let loop: ForwardEventLoop
    private let context: ForwardConnectionContext
    /// Its place among `Max_Connections`, kept for good once a frame came.
    private let slot: ConnectionSlot
    private var phase: Phase
    private var pending: PendingFrameBytes
    private var received: ReceivedFrames

    /// Received bytes; `buffer[consumed..<filled]` is not decoded yet.
    private let buffer: ReceiveBuffer
    private var consumed = 0
    private var filled = 0
    /// Where scanning the unfinished frame at `consumed` got to, while
    /// `scanningFrame`: each read scans only the bytes it brought, however
    /// slowly a large frame arrives. One scanner serves every frame of the
    /// connection, so a frame costs it no allocation.
    private var frameScanner: MessagePackScanner
    private var scanningFrame = false

    /// Bytes to send (HELO, PONG, acks); `output[sent...]` are not sent yet.
    private var output: [UInt8] = []
    private var sent = 0
    /// Commits handed to the sink whose acks have not come back yet.
    private var commitsOutstanding = 0
    /// Not read while the decode budget has no room; `budgetRoom()` resumes it.
    private var waitingForBudget = false
    /// What the buffer grew past its first size, held in `ingest.max_receive_bytes`.
    private var receiveGrowth = DecodeBudget.Reservation()
    /// Not read while the buffer must grow and the receive budget has no room; `receiveRoom()` resumes it.
    private var waitingForReceiveRoom = false
    /// Since when the buffer holds part of a frame still arriving (`Frame_Timeout`); nil while it holds none.
    private var incompleteFrameSince: DispatchTime?
    /// OpenSSL's WANT_WRITE on a read and WANT_READ on a write (a TLS session needs both directions).
    private var readNeedsWritable = false
    private var writeNeedsReadable = false
    private var handshakeNeeds: PollInterest = .readable
    private var lastInput = DispatchTime.now()
    /// What the poller was last told.
    private var registeredInterest: PollInterest = .readable

    var socket: StreamSocket { stream.socket }
    var peer: String { stream.socket.peer }
    var isClosed: Bool { if case .closed = phase { return true } else { return false } }

    init(key: Int, stream: any NonBlockingStream, loop: ForwardEventLoop, context: ForwardConnectionContext, slot: ConnectionSlot, tls: Bool) {
        self.key = key
        self.stream = stream
        self.loop = loop
        self.context = context
        self.slot = slot
        // Once the decode budget may have room, the loop resumes this connection.
        pending = PendingFrameBytes(budget: context.budget) { [loop, key] in
            loop.execute { loop.connection(key)?.budgetRoom() }
        }
        frameScanner = MessagePackScanner(limitsOf: context.limits.decoder)
        received = ReceivedFrames(pipeline: context.pipeline, tagPrefix: context.configuration.tagPrefix, assembler: context.assembler, sink: context.sink)
        buffer = ReceiveBuffer(capacity: Self.initialBufferBytes(context.configuration))
        phase = tls ? .tlsHandshake(deadline: .now() + context.configuration.handshakeTimeout) : .serving
    }

    /// What the poller waits for on this connection now.
    var interest: PollInterest {
        if case .closed = phase { return [] }
        if case .tlsHandshake = phase { return handshakeNeeds }
        var interest: PollInterest = []
        if wantsToRead { interest.insert(readNeedsWritable ? .writable : .readable) }
        if sent < output.count { interest.insert(writeNeedsReadable ? .readable : .writable) }
        return interest
    }

    /// Whether the connection reads now: not while it waits for the decode budget, nor once its reading is done.
    private var wantsToRead: Bool {
        switch phase {
        case .awaitingPing, .serving, .drainingForStop, .afterGoodbye: return !waitingForBudget && !waitingForReceiveRoom
        default: return false
        }
    }

    /// Asks this connection's loop to resume it once the receive budget may have room.
    private lazy var whenReceiveRoom: @Sendable () -> Void = { [loop, key] in
        loop.execute { loop.connection(key)?.receiveRoom() }
    }

    /// The first step once the loop watches the connection: HELO, for a shared key without TLS.
    func start() {
        run { if case .serving = phase { try beginServing() } }
    }

    /// The poller found the socket ready.
    func handle(_ readiness: PollReadiness) {
        run {
            if case .tlsHandshake = phase {
                try continueTLSHandshake()
                return
            }
            let failed = readiness.contains(.failed)
            if sent < output.count && (failed || readiness.contains(writeNeedsReadable ? .readable : .writable)) { try flush() }
            if wantsToRead && (failed || readiness.contains(readNeedsWritable ? .writable : .readable)) {
                try readAvailable()
            }
        }
    }

    /// The spool committed (or failed to commit) frames that asked for acks.
    func stored(_ acks: [UInt8], error: Error?) {
        run {
            commitsOutstanding -= 1
            if let error {
                context.logger.error("closing connection: its records could not be stored, so they are not acked: \(error)", metadata: ["peer": "\(peer)"])
                close()
                return
            }
            output.append(contentsOf: acks)
            let unsent = output.count - sent
            guard unsent <= Self.maxUnsentAckBytes else {
                throw ForwardConnectionError.acksNotRead(pendingBytes: unsent, limit: Self.maxUnsentAckBytes)
            }
            try flush()
        }
    }

    /// The loop handed this connection's staged frames to the sink: their decode budget goes back.
    func handedOver() {
        pending.release()
    }

    /// The sink refused the frames the loop staged for this connection: it closes, and they are not acked.
    func deliveryFailed(_ error: Error) {
        run { throw error }
    }

    /// The decode budget may have room again.
    func budgetRoom() {
        run {
            guard waitingForBudget else { return }
            waitingForBudget = false
            lastInput = .now()
            let consumedBefore = consumed
            try takeInput()
            tookInput(consumedBefore: consumedBefore, restartingClock: true)
            // No poll reports what TLS decrypted already, nor a drain that has not reached the socket's end.
            guard wantsToRead else { return }
            if case .drainingForStop = phase { try readAvailable() } else if stream.hasBufferedInput { try readAvailable() }
        }
    }

    /// The receive budget may have room again. It reads at once rather than
    /// waiting for the poll: no poll reports what TLS decrypted already, and
    /// while this connection is first in the budget's line the others wait
    /// for it to ask again.
    func receiveRoom() {
        run {
            guard waitingForReceiveRoom else { return }
            waitingForReceiveRoom = false
            lastInput = .now()
            if incompleteFrameSince != nil { incompleteFrameSince = .now() }
            if wantsToRead { try readAvailable() }
        }
    }

    /// A stop began: store what the socket holds (acked), say goodbye, then
    /// store what still comes until the client closes or the stop is overdue.
    /// A client that checks for the FIN before writing (fluent-logger, Fluent
    /// Bit) keeps its next lines for its next connection; whatever it wrote
    /// before it saw the FIN is still read and stored (an acking client
    /// resends those frames and their chunk ids store them once).
    func finish() {
        run {
            switch phase {
            case .tlsHandshake, .awaitingPing:
                throw ForwardConnectionError.handshakeFailed("the shipper is stopping")
            case .serving:
                phase = .drainingForStop
                if wantsToRead { try readAvailable() }
            default:
                break
            }
        }
    }

    /// Looks at the deadlines: the handshakes', `Idle_Timeout`, and the stop's (`overdue`).
    func tick(now: DispatchTime, overdue: Bool) {
        run {
            switch phase {
            case .tlsHandshake(let deadline) where now >= deadline:
                throw ForwardConnectionError.tlsHandshakeTimedOut(peer: peer, seconds: context.configuration.handshakeTimeout)
            case .awaitingPing(_, let deadline) where now >= deadline:
                throw ForwardConnectionError.handshakeFailed("no PING within Handshake_Timeout (\(context.configuration.handshakeTimeout) s)")
            case .serving where isFrameOverdue(now):
                throw ForwardConnectionError.frameTimedOut(seconds: context.configuration.frameTimeout, receivedBytes: filled - consumed)
            case .serving where context.configuration.idleTimeout > 0 && !waitingForBudget && !waitingForReceiveRoom
                && Double(now.uptimeNanoseconds - lastInput.uptimeNanoseconds) >= context.configuration.idleTimeout * 1e9:
                context.logger.warning("closing connection idle for Idle_Timeout (\(context.configuration.idleTimeout) s)", metadata: ["peer": "\(peer)"])
                close()
            default:
                if overdue { try closeOverdue() }
            }
        }
    }

    /// Runs one step; an error closes the connection with a log line that says why.
    private func run(_ step: () throws -> Void) {
        guard !isClosed else { return }
        do {
            try step()
        } catch {
            fail(error)
        }
        guard !isClosed else { return }
        let wanted = interest
        if wanted != registeredInterest {
            do {
                try loop.poller.change(key, to: wanted)
                registeredInterest = wanted
            } catch {
                fail(error)
            }
        }
    }

    /// The loop could not watch the socket: the connection closes with `error` before its first step.
    func couldNotBeWatched(_ error: Error) {
        fail(error)
    }

    private func fail(_ error: Error) {
        // Closed already by a step inside this one (the loop's hand-over failing while this connection read): said once.
        guard !isClosed else { return }
        if let error = error as? ForwardConnectionError {
            context.statistics.refused()
            context.logger.error("closing connection: \(error)", metadata: ["peer": "\(peer)"])
        } else if loop.isStopping {
            // Typically a paused spool refusing at the stop: the client resends what was not acked.
            context.logger.warning("closing connection at the stop; what it sent since its last ack was not acknowledged: \(error)", metadata: ["peer": "\(peer)"])
        } else if error is TLSError, case .tlsHandshake = phase {
            context.statistics.refused()
            context.logger.error("closing connection: \(error)", metadata: ["peer": "\(peer)"])
        } else {
            context.logger.error("closing connection: \(error)", metadata: ["peer": "\(peer)"])
        }
        if let error = error as? ForwardConnectionError, case .acksNotRead = error { stream.socket.resetOnClose() }
        close()
    }

    /// Ends the connection: its budget goes back, and the loop forgets it (the socket closes once nothing holds it).
    private func close() {
        guard !isClosed else { return }
        if filled > consumed {
            context.logger.warning("connection closed inside a frame; its partial frame was not acknowledged", metadata: ["peer": "\(peer)", "bytes": "\(filled - consumed)"])
        }
        phase = .closed
        pending.release()
        context.receiveBudget.release(&receiveGrowth)
        stream.socket.shutdown()
        loop.remove(self)
    }

    private func continueTLSHandshake() throws {
        switch try stream.handshake() {
        case .transferred:
            phase = .serving
            try beginServing()
            // The client's first records may have come with the handshake's end, decrypted already.
            if wantsToRead && stream.hasBufferedInput { try readAvailable() }
        case .needsReadable: handshakeNeeds = .readable
        case .needsWritable: handshakeNeeds = .writable
        case .ended: close()
        }
    }

    /// With a shared key, HELO goes first and frames only after the PING passed.
    private func beginServing() throws {
        guard let handshake = context.configuration.handshake else { return }
        let session = handshake.newSession()
        phase = .awaitingPing(session, deadline: .now() + context.configuration.handshakeTimeout)
        output.append(contentsOf: handshake.helo(session))
        try flush()
    }

    /// Sends what the socket takes of `output`.
    private func flush() throws {
        writeNeedsReadable = false
        while sent < output.count {
            let progress = try output.withUnsafeBytes { try stream.writeAvailable(UnsafeRawBufferPointer(rebasing: $0[sent...])) }
            switch progress {
            case .transferred(let n) where n > 0: sent += n
            case .transferred, .needsWritable: return
            case .needsReadable:
                writeNeedsReadable = true
                return
            case .ended:
                close()
                return
            }
        }
        output.removeAll(keepingCapacity: output.capacity <= 64 * 1024)
        sent = 0
        if case .awaitingAcksForStop = phase, commitsOutstanding == 0 {
            stream.shutdownSending()
            phase = .afterGoodbye
        } else if case .clientClosed = phase, commitsOutstanding == 0 {
            close()
        }
    }

    /// Reads what the socket holds and takes it in: one read, or a few while
    /// reads fill the buffer (or TLS holds decrypted bytes). While a stop
    /// drains, every read until the socket has nothing more.
    private func readAvailable() throws {
        var reads = 0
        while true {
            guard try prepareBuffer() else { return }
            let room = buffer.room(from: filled, limit: Self.maxRead)
            switch try stream.readAvailable(into: room) {
            case .transferred(let n):
                readNeedsWritable = false
                filled += n
                context.statistics.received(n)
                lastInput = .now()
                let consumedBefore = consumed
                try takeInput()
                tookInput(consumedBefore: consumedBefore, restartingClock: false)
                reads += 1
                guard wantsToRead else { return }
                // While a stop drains, the socket is read until it has nothing more, a share at a time.
                if case .drainingForStop = phase, reads < 64 { continue }
                // What TLS holds decrypted is read now (at most one TLS record): no poll would report it.
                guard reads < 4 && n == room.count || stream.hasBufferedInput else { return }
            case .needsReadable:
                readNeedsWritable = false
                if case .drainingForStop = phase {
                    phase = .awaitingAcksForStop
                    try flush()
                }
                return
            case .needsWritable:
                readNeedsWritable = true
                return
            case .ended:
                try endOfStream()
                return
            }
        }
    }

    /// The client closed its side: a client that half-closes after its last frame still gets that frame's ack.
    private func endOfStream() throws {
        if case .afterGoodbye = phase { return close() }
        if case .awaitingPing = phase { throw ForwardConnectionError.handshakeFailed("the client closed the connection before PING") }
        phase = .clientClosed
        try flush()
        if commitsOutstanding == 0 && sent == output.count { close() }
    }

    /// The stop is overdue: the last bytes the socket holds are stored, and a
    /// client still there (Docker's driver never reads) gets a reset, so that its next write fails and is sent again.
    /// The reset goes right after the read that found the socket empty, before anything else:
    /// a line the client writes between that read and the reset is taken by the kernel and lost
    /// with the connection. That gap, a few microseconds (more if the loop's thread is preempted
    /// in it), is the one place a client without acks can lose a line at a stop: its next write fails.
    private func closeOverdue() throws {
        if case .afterGoodbye = phase, !waitingForBudget {
            var reads = 0
            while reads < Self.finalReads && !isClosed {
                reads += 1
                guard try prepareBuffer(),
                      case .transferred(let n) = try stream.readAvailable(into: buffer.room(from: filled, limit: Self.maxRead)) else { break }
                filled += n
                context.statistics.received(n)
                try takeInput()
            }
        }
        stream.socket.reset()
        guard !isClosed else { return }
        if waitingForBudget || waitingForReceiveRoom {
            let budget = waitingForBudget ? "ingest.max_pending_bytes" : "ingest.max_receive_bytes"
            context.logger.warning("closing connection at the stop while it waited for \(budget); what it sent since its last ack was not acknowledged",
                                   metadata: ["peer": "\(peer)"])
        }
        close()
    }

    /// Decodes what came in, as the phase wants it: a PING first, then frames.
    private func takeInput() throws {
        switch phase {
        case .awaitingPing(let session, _):
            guard try authenticate(session) else { return }
            phase = .serving
            try takeFrames(acking: true)
        case .serving, .drainingForStop:
            try takeFrames(acking: true)
        case .afterGoodbye:
            try takeFrames(acking: false)
        default:
            break
        }
    }

    /// The buffer a connection starts with, and goes back to after a large frame.
    private static func initialBufferBytes(_ configuration: ForwardServerConfiguration) -> Int {
        min(configuration.bufferChunkSize, 256 * 1024)
    }

    /// Checks the PING once it is complete; `false` while it is not. A client
    /// that fails gets its PONG (as far as its socket takes it) and is closed.
    ///
    /// Until it has passed, a client gets little: its PING may take
    /// `maxBytesBeforeAuthentication` bytes and a shallow value, and it must
    /// arrive within `Handshake_Timeout`.
    private func authenticate(_ session: ForwardHandshake.Session) throws -> Bool {
        guard let handshake = context.configuration.handshake else { return true }
        let limit = ForwardServerConfiguration.maxBytesBeforeAuthentication
        let decoder = MessagePackDecoder(maxLength: limit, maxDepth: 4)
        var scanner = MessagePackScanner(limitsOf: decoder)
        let complete: Int?
        do {
            complete = try scanner.scan(UnsafeBufferPointer(rebasing: buffer.filled(filled)[consumed...]))
        } catch let error as MessagePackError {
            throw ForwardConnectionError.malformed(error)
        }
        guard complete != nil else {
            if filled - consumed > limit { throw ForwardConnectionError.handshakeFailed("more than \(limit) bytes sent before authenticating") }
            return false
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
        output.append(contentsOf: pong)
        try flush()
        guard !isClosed else { return false }
        guard accepted else { throw ForwardConnectionError.handshakeFailed(reason) }
        return true
    }

    /// Makes room for the next read; `false` when the buffer must grow and the
    /// receive budget has no room (the connection is not read until `receiveRoom()`).
    ///
    /// The buffer starts small and grows (doubling, up to `Buffer_Max_Size` plus
    /// one chunk) only when a single frame does not fit, so a connection that
    /// streams small frames keeps a small buffer. What it grows by is held in
    /// `ingest.max_receive_bytes` until it shrinks back.
    private func prepareBuffer() throws -> Bool {
        let configuration = context.configuration
        shrinkGrownBuffer()
        if buffer.capacity - filled < 4096 && consumed > 0 {
            buffer.moveToStart(consumed..<filled)
            filled -= consumed
            consumed = 0
        }
        if filled == buffer.capacity {
            let wanted = min(buffer.capacity * 2, configuration.bufferMaxSize + configuration.bufferChunkSize)
            guard wanted > buffer.capacity else { throw ForwardConnectionError.frameTooLarge(limit: configuration.bufferMaxSize) }
            guard context.receiveBudget.tryReserve(wanted - buffer.capacity, into: &receiveGrowth, whenRoom: whenReceiveRoom) else {
                waitingForReceiveRoom = true
                return false
            }
            buffer.resize(to: wanted, keeping: filled)
        }
        return true
    }

    /// Once everything received is taken in, the buffer starts again from its
    /// start. A buffer that grew for a large frame goes back to its first size
    /// as soon as what it holds that is not taken in yet fits in half of that
    /// (those bytes move along), and what it grew by goes back to the receive
    /// budget: neither a container that sent one large frame and is then quiet,
    /// nor one streaming small frames after it (whose reads seldom end at a
    /// frame's end, so the buffer is seldom empty), may keep either.
    private func shrinkGrownBuffer() {
        if consumed == filled {
            consumed = 0
            filled = 0
        }
        let initial = Self.initialBufferBytes(context.configuration)
        guard buffer.capacity > initial, filled - consumed <= initial / 2 else { return }
        buffer.moveToStart(consumed..<filled)
        filled -= consumed
        consumed = 0
        buffer.resize(to: initial, keeping: filled)
        context.receiveBudget.release(&receiveGrowth)
    }

    /// After input was taken in (`consumedBefore`: where the first frame not taken in
    /// began): the buffer shrinks if it can, and the `Frame_Timeout` clock times
    /// the frame now arriving. It starts again whenever a frame was taken in, so a
    /// client streaming frames whose reads rarely end at a frame's end is timed frame
    /// by frame, and after a wait for a budget, since that time was the shipper's.
    private func tookInput(consumedBefore: Int, restartingClock: Bool) {
        let frameTakenIn = consumed != consumedBefore
        shrinkGrownBuffer()
        if consumed == filled {
            incompleteFrameSince = nil
        } else if incompleteFrameSince == nil || frameTakenIn || restartingClock {
            incompleteFrameSince = .now()
        }
    }

    /// Whether a frame has been arriving for longer than `Frame_Timeout`, not counting waits for a budget.
    private func isFrameOverdue(_ now: DispatchTime) -> Bool {
        let timeout = context.configuration.frameTimeout
        guard timeout > 0, !waitingForBudget, !waitingForReceiveRoom, let since = incompleteFrameSince else { return false }
        return Double(now.uptimeNanoseconds - since.uptimeNanoseconds) >= timeout * 1e9
    }

    /// What decoding the buffer came to.
    private enum Decoded {
        /// Every complete frame is decoded.
        case done
        /// A bad frame, after the good ones before it.
        case failed(Error)
        /// The decode budget has no room for the next frame.
        case needsBudget
    }

    /// The decode budget's answer inside a frame's parse: no room for what it inflates to.
    private struct BudgetExhausted: Error {}

    /// Decodes the complete frames received and stores their records (acking
    /// them with `acking`); a bad frame is thrown after the good ones before it.
    /// What they held of the decode budget is given back once the sink has them
    /// (before the commit: the spool's queue has its own bound). With no room
    /// in the budget, the frames decoded so far go first; a connection that
    /// then holds nothing and still finds no room stops being read until
    /// `budgetRoom()`.
    private func takeFrames(acking: Bool) throws {
        while true {
            let outcome = decodeAvailableFrames()
            // Asked before the frames are staged: staging may hand the pass over, which gives the budget
            // back and with it the place in line the failed claim took, so only a new claim can wait.
            let held = pending.holdsBytes
            deliver(acking: acking)
            switch outcome {
            case .done: return
            case .failed(let error): throw error
            case .needsBudget:
                guard held else {
                    waitingForBudget = true
                    return
                }
                // What it holds goes to the sink now, with the rest of the loop's pass; holding
                // nothing then, it may start again at once, or it waits in line.
                loop.deliverStaged()
                guard !isClosed else { return }
                pending.release()
            }
        }
    }

    /// Decodes every complete frame in the buffer into `received`; stops at the
    /// first bad frame, or where the decode budget has no room.
    ///
    /// A frame's wire bytes are claimed from the budget before it is parsed, and
    /// what parsing makes (inflated bytes, records) as it is made: a connection
    /// waits for room before it holds more, not after. A frame stopped for room
    /// (before or inside its parse) is scanned and parsed again from its start.
    private func decodeAvailableFrames() -> Decoded {
        let bytes = buffer.filled(filled)
        while consumed < filled {
            let first = bytes[consumed]
            guard (0x90...0x9f).contains(first) || first == 0xdc || first == 0xdd else {
                return .failed(ForwardConnectionError.notAFrame(first))
            }
            if !scanningFrame { frameScanner.restart() }
            let length: Int
            do {
                guard let complete = try frameScanner.scan(UnsafeBufferPointer(rebasing: bytes[consumed...])) else {
                    scanningFrame = true
                    let configuration = context.configuration
                    return filled - consumed > configuration.bufferMaxSize ? .failed(ForwardConnectionError.frameTooLarge(limit: configuration.bufferMaxSize)) : .done
                }
                length = complete
            } catch let error as MessagePackError {
                return .failed(ForwardConnectionError.malformed(error))
            } catch {
                return .failed(error)
            }
            scanningFrame = false
            guard pending.claim(length) else { return .needsBudget }
            do {
                var frame = try ForwardFrame(parsing: UnsafeBufferPointer(rebasing: bytes[consumed..<consumed + length]), limits: context.limits,
                                             previousTag: received.lastReceivedTag) {
                    guard self.pending.claim($0) else { throw BudgetExhausted() }
                }
                received.add(&frame)
                consumed += length
            } catch is BudgetExhausted {
                return .needsBudget
            } catch let error as MessagePackError {
                return .failed(ForwardConnectionError.malformed(error))
            } catch let error as ForwardFrameError {
                return .failed(ForwardConnectionError.invalidFrame(error))
            } catch {
                return .failed(error)
            }
        }
        return .done
    }

    /// Stages the decoded frames on the loop, which hands them to the sink with
    /// the rest of its pass and then gives their budget back (`handedOver`);
    /// with `acking`, the chunks that asked for it are acked once they are
    /// committed: the spool's writer hands the acks to this connection's loop,
    /// which writes them (`stored`), so the writer never waits for a client.
    private func deliver(acking: Bool) {
        guard !received.batches.isEmpty else { return }
        defer { received.clearFrames() }
        slot.markSentFrame()
        guard acking && !received.chunks.isEmpty else {
            loop.stage(received.batches, acks: nil, from: self)
            return
        }
        // Sized for Docker's 24-byte ids, so that the usual acks fit without growing.
        var encoder = MessagePackEncoder(capacity: received.chunks.count * Self.usualAckBytes)
        for chunk in received.chunks {
            // {"ack": chunk}, written in place: one per acked frame, so no value tree is built for it.
            encoder.encodeMapHeader(count: 1)
            Self.ackKey.withUnsafeBufferPointer { encoder.encodeString($0) }
            encoder.encode(chunk)
        }
        commitsOutstanding += 1
        loop.stage(received.batches, acks: encoder.bytes, from: self)
    }
}
