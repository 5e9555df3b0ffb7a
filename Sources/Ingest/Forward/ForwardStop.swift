import Dispatch
import Foundation

/// A forward server's request to its connections to finish, shared by all of them.
///
/// A blocking read cannot be interrupted portably without shutting the socket
/// down, and a shut-down socket loses what the client had already sent (on
/// Windows, `SD_RECEIVE` even resets the connection). So connections read in
/// short ticks and look here after every read and every tick: a stop reaches a
/// quiet connection within one tick, and it closes itself after storing what
/// its socket holds.
// Safe to share: `lock` guards `deadline`.
final class ForwardStop: @unchecked Sendable {
    private let lock = NSLock()
    private var deadline: DispatchTime?

    /// Asks every connection to finish by `deadline`.
    func request(finishBy deadline: DispatchTime) {
        lock.lock()
        self.deadline = deadline
        lock.unlock()
    }

    var isRequested: Bool {
        lock.lock()
        defer { lock.unlock() }
        return deadline != nil
    }

    /// Whether a connection that is finishing must close now.
    var isOverdue: Bool {
        lock.lock()
        defer { lock.unlock() }
        return deadline.map { DispatchTime.now() >= $0 } ?? false
    }
}
