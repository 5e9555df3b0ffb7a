import COpenSSL

/// A blocking TLS session over a connected socket, on the client side
/// (`shipper cat`, the CloudWatch client); the forward input's
/// sessions are non-blocking (`TLSServerSession`).
// Safe to share: one thread at a time uses the session (its client: `shipper cat`, one upload); `closeNotifySent` is that thread's.
final class TLSStream: ByteStream, @unchecked Sendable {
    private let ssl: OpaquePointer
    private let socket: StreamSocket

    init(ssl: OpaquePointer, socket: StreamSocket) {
        self.ssl = ssl
        self.socket = socket
    }

    deinit {
        SSL_free(ssl)
    }

    var peer: String { socket.peer }

    func read(into buffer: UnsafeMutableRawBufferPointer) throws -> Int {
        // What OpenSSL decrypted already is read without asking the socket.
        if SSL_pending(ssl) == 0 { try socket.awaitInput() }
        let n = SSL_read(ssl, buffer.baseAddress, Int32(min(buffer.count, Int(Int32.max))))
        if n > 0 { return Int(n) }
        switch SSL_get_error(ssl, n) {
        case SSL_ERROR_ZERO_RETURN:
            return 0
        case SSL_ERROR_WANT_READ:
            // The receive timeout ran out inside the read; OpenSSL keeps any partial record for the next one.
            throw SocketError.timedOut("TLS read from \(peer)")
        case SSL_ERROR_SYSCALL where ERR_peek_error() == 0:
            // The peer closed the TCP connection without a TLS close_notify.
            return 0
        default:
            throw TLSError.openSSL("TLS read from \(peer)")
        }
    }

    func write(_ bytes: [UInt8]) throws {
        try bytes.withUnsafeBytes { try TLSWrite.all(ssl, $0, what: "TLS write to \(peer)") }
    }

    func setReceiveTimeout(_ seconds: Double) {
        socket.setReceiveTimeout(seconds)
    }

    func shutdown() {
        sendCloseNotify()
        socket.shutdown()
    }

    /// Only the first `SSL_shutdown` sends close_notify; a second would wait to read the peer's.
    private var closeNotifySent = false
    private func sendCloseNotify() {
        guard !closeNotifySent else { return }
        closeNotifySent = true
        SSL_shutdown(ssl)
    }
}
