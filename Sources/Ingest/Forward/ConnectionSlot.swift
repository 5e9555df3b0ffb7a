import Foundation
import Network

/// One of the `Max_Connections` places of a forward server, held by an open connection.
///
/// Docker keeps a connection open for a container's whole life however rarely
/// it logs, so a quiet connection is no sign of a dead one and must keep its
/// place. A connection that has never sent a complete frame is another thing:
/// silent clients (scanners, half-open health checks, a client stuck before
/// its first frame) could otherwise take every place and lock out every
/// container. When the places are full, such a connection gives up its place
/// to a newcomer, the one open longest first.
// Safe to share: `lock` guards `sentFrame`.
final class ConnectionSlot: @unchecked Sendable {
    let socket: StreamSocket
    /// When the connection opened (monotonic nanoseconds): the longest-open silent one goes first.
    let opened = DispatchTime.now().uptimeNanoseconds
    private let lock = NSLock()
    private var sentFrame = false

    init(socket: StreamSocket) {
        self.socket = socket
    }

    /// The connection has sent a complete frame: from now on it keeps its place.
    func markSentFrame() {
        lock.lock()
        sentFrame = true
        lock.unlock()
    }

    var hasSentFrame: Bool {
        lock.lock()
        defer { lock.unlock() }
        return sentFrame
    }
}
