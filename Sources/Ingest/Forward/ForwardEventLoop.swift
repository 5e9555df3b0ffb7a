import Foundation
import Logging
import Network

/// One thread that serves many forward connections: it waits on a
/// `ReadinessPoller` for whichever socket is ready, and runs the work other
/// threads hand it (acks the spool committed, room in the decode budget, new
/// connections, the stop) between waits.
///
/// A forward input runs a few of these (`Event_Loops`) whatever the number of
/// clients, so a thousand containers cost a thousand sockets, not a thousand
/// threads, and an ack costs one wake-up per loop per commit rather than one
/// per connection. A loop never waits for one client. It does wait in the
/// sink when the spool is over its limits (`IngestSink.accept`): then every
/// client is pushed back alike, by not being read, which is what a full spool
/// must do; the acks of frames committed before wait with them, and a stop
/// ends that wait at once (`Spool.stopIntake`).
// Safe to share: `lock` guards `inbox`, `polling`, `wakeUpSent` and `stopping`; `poller.wakeUp()` may be called from any thread; everything else belongs to the loop's thread.
final class ForwardEventLoop: @unchecked Sendable {
    let poller: ReadinessPoller
    private let name: String
    private let logger: Logger
    private let lock = NSLock()
    private var inbox: [@Sendable () -> Void] = []
    /// Whether the loop is (about to be) waiting in its poll, with nothing in its inbox.
    private var polling = false
    /// Whether a wake-up went to this poll already: a commit hands a loop several passes' acks,
    /// and one wake-up a poll is enough. A busy loop is not woken at all: it runs its inbox after
    /// every pass. (Waking whenever the inbox had been emptied, which a busy loop does between
    /// passes, sent 7.4 wake-ups a commit with 50 acking connections.)
    private var wakeUpSent = false
    private var stopping = false
    private var connections: [Int: ForwardConnection] = [:]
    private var listener: (socket: StreamSocket, ready: () -> Void)?
    /// When connections that are finishing must close (set by `finish(by:)`).
    private var finishBy: DispatchTime?
    /// Told when a connection closes, from the loop's thread.
    private let onClose: @Sendable (Int) -> Void
    /// Where the frames go, once per pass (`deliverStaged`).
    private let sink: IngestSink
    /// The frames this pass's connections decoded, not yet handed to the sink.
    private var staged = StagedDeliveries()

    /// The key the listener is polled under; connections have positive keys.
    private static let listenerKey = -1

    init(name: String, sink: IngestSink, logger: Logger, onClose: @escaping @Sendable (Int) -> Void) throws {
        self.name = name
        self.sink = sink
        self.logger = logger
        self.onClose = onClose
        poller = try ReadinessPoller()
    }

    /// Starts the loop's thread; `done` is left when it returns.
    func start(_ done: DispatchGroup) {
        done.enter()
        let thread = Thread { [self] in
            Thread.current.name = name
            run()
            done.leave()
        }
        thread.stackSize = 1 << 20
        thread.start()
        // Named from inside and again once started, in at most 15 bytes (Linux drops a longer name): Foundation names only a thread
        // it knows, and the new thread renames itself as it starts; whichever runs last, one of the two names it.
        thread.name = name
    }

    /// Runs `work` on the loop's thread, soon; from any thread.
    func execute(_ work: @escaping @Sendable () -> Void) {
        lock.lock()
        inbox.append(work)
        let wake = polling && !wakeUpSent
        if wake { wakeUpSent = true }
        lock.unlock()
        if wake { poller.wakeUp() }
    }

    /// Whether a stop began; from any thread.
    var isStopping: Bool {
        lock.lock()
        defer { lock.unlock() }
        return stopping
    }

    /// The open connection with `key`, if it is still open; on the loop's thread.
    func connection(_ key: Int) -> ForwardConnection? {
        connections[key]
    }

    /// Starts serving `connection`; on the loop's thread.
    func adopt(_ connection: ForwardConnection) {
        connections[connection.key] = connection
        do {
            try poller.register(connection.socket, as: connection.key, for: connection.interest)
        } catch {
            connection.couldNotBeWatched(error)
            return
        }
        connection.start()
        if finishBy != nil { connection.finish() }
    }

    /// Forgets a connection that closed; on the loop's thread.
    func remove(_ connection: ForwardConnection) {
        poller.deregister(connection.key)
        connections[connection.key] = nil
        onClose(connection.key)
    }

    /// Keeps a connection's decoded frames for the sink until the pass is over; on the loop's thread.
    /// `acks` go to it once they are committed (`ForwardConnection.stored`).
    /// A pass past `StagedDeliveries.maxRecords` goes at once, from inside the connection's read.
    func stage(_ frames: [IngestBatch], acks: [UInt8]?, from connection: ForwardConnection) {
        staged.stage(frames, acks: acks, from: connection)
        if staged.isFull { deliverStaged() }
    }

    /// Hands every staged frame to the sink in one call, then gives the
    /// connections their decode budget back; on the loop's thread. The loop
    /// calls this after each step of its pass; a connection that needs budget
    /// while it holds some calls it at once, so that what it holds goes first.
    /// If the sink refuses (the spool closed at a stop), each connection with
    /// frames in the call closes, unacked: its client sends them again.
    func deliverStaged() {
        guard !staged.isEmpty else { return }
        let pass = staged.take()
        let acks = pass.acks
        var whenStored: (@Sendable (Error?) -> Void)?
        if !acks.isEmpty {
            whenStored = { [self] error in
                execute { [self] in
                    for ack in acks { connection(ack.connection)?.stored(ack.acks, error: error) }
                }
            }
        }
        do {
            try sink.accept(pass.batches, whenStored: whenStored)
        } catch {
            for connection in pass.holders { connection.deliveryFailed(error) }
        }
        for connection in pass.holders { connection.handedOver() }
    }

    /// Accepts on this loop: `ready` runs whenever `socket` has a connection waiting.
    func watch(listener socket: StreamSocket, ready: @escaping () -> Void) {
        listener = (socket, ready)
        do {
            try poller.register(socket, as: Self.listenerKey, for: .readable)
        } catch {
            logger.critical("forward input: cannot watch its listening socket, so no connection will be accepted: \(error)", metadata: ["loop": "\(name)"])
        }
    }

    /// Stops watching the listener (before it is closed); on the loop's thread.
    func stopWatchingListener() {
        listener = nil
        poller.deregister(Self.listenerKey)
    }

    /// Asks every connection to finish (`ForwardConnection.finish()`) and to
    /// close by `deadline`; the loop returns once none is left.
    func finish(by deadline: DispatchTime) {
        lock.lock()
        stopping = true
        lock.unlock()
        execute { [self] in
            finishBy = deadline
            for connection in Array(connections.values) { connection.finish() }
        }
    }

    /// Whether connections that are finishing must close now.
    var isOverdue: Bool {
        finishBy.map { DispatchTime.now() >= $0 } ?? false
    }

    private func run() {
        var lastTick = DispatchTime.now()
        var failures = 0
        while true {
            // Work handed over since the inbox last ran goes first: then the poll does not wait.
            // While a stop runs, deadlines are looked at more often than every tick.
            let idle = beginPolling()
            let wait = !idle ? 0 : finishBy == nil ? ForwardConnection.tick : 0.05
            var awake = !idle
            do {
                try poller.wait(seconds: wait) { key, readiness in
                    if !awake {
                        awake = true
                        endPolling()
                    }
                    if key == Self.listenerKey {
                        listener?.ready()
                    } else {
                        connections[key]?.handle(readiness)
                    }
                }
                failures = 0
                deliverStaged()
            } catch {
                // Nothing a poll fails with here goes away by retrying at once: say so, and try again a little later.
                failures += 1
                if failures == 1 { logger.error("forward input: \(error); polling again", metadata: ["loop": "\(name)"]) }
                Thread.sleep(forTimeInterval: 0.05)
            }
            if !awake { endPolling() }
            runInbox()
            deliverStaged()
            let now = DispatchTime.now()
            if finishBy != nil || now.uptimeNanoseconds - lastTick.uptimeNanoseconds >= UInt64(ForwardConnection.tick * 1e9) {
                lastTick = now
                let overdue = isOverdue
                for connection in Array(connections.values) { connection.tick(now: now, overdue: overdue) }
                deliverStaged()
            }
            if finishBy != nil && connections.isEmpty && listener == nil { return }
        }
    }

    /// The loop is about to wait in its poll, so `execute` must wake it; only
    /// if its inbox is empty, which it answers (else the poll must not wait).
    private func beginPolling() -> Bool {
        lock.lock()
        defer { lock.unlock() }
        polling = inbox.isEmpty
        return polling
    }

    /// The poll returned: `execute` need not wake the loop, which runs its inbox next.
    private func endPolling() {
        lock.lock()
        polling = false
        wakeUpSent = false
        lock.unlock()
    }

    private func runInbox() {
        lock.lock()
        let work = inbox
        inbox.removeAll(keepingCapacity: true)
        lock.unlock()
        for item in work { item() }
    }
}
