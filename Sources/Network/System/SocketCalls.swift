/// The socket calls of the operating system, behind one internal API that
/// `StreamSocket` and `DatagramSocket` are written against, so that neither
/// has a line of platform code and a reviewer can read each system's side
/// alone: `SocketCalls+Posix.swift` (Linux, and the BSD family) and
/// `SocketCalls+Windows.swift` (Winsock), the way swift-nio splits its BSD
/// socket API.
///
/// What every implementation provides, with the same names and meaning:
/// - `Handle`, `invalidHandle`, `startNetworking()` (once per process, before any socket);
/// - C-shaped calls (`openSocket`, `bindAddress`, `startListening`, `connectAddress`,
///   `acceptConnection`, `receive`, `sendBytes`, `receiveFrom`, `sendTo`, `pollEntries`) that return what the system call returned, a negative
///   number (or `invalidHandle`) on failure, after which `lastError()` is the error code;
/// - classifiers of error codes (`isInterrupted`, `wouldBlock`, `isTimeout`, `acceptFoundNone`,
///   `connectInProgress`, `describe`), and `pendingError` (how a background connect ended);
/// - poll flags (`inputEvents`, `outputEvents`, `failureEvents`), and `waitForConnect` (a background connect's end);
/// - options (`allowQuickRebind`, `setBlocking`, `setReceiveTimeout`, `setSendTimeout`, `setAbortiveClose`), and
///   `resetConnection`, `shutdownHandle`/`closeHandle`.
/// Loops, retries and errors with context stay in the socket types above.
enum SocketCalls {
    /// Which direction `shutdown` ends.
    enum Direction {
        case sending
        case both
    }
}
