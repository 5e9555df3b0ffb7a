import COpenSSL

/// The server side of one TLS connection on a non-blocking socket, for an
/// event loop: the handshake, reads and writes return at once, and OpenSSL's
/// WANT_READ / WANT_WRITE become the readiness to wait for.
///
/// OpenSSL reads and writes the socket itself (`SSL_set_fd`); its sessions
/// are made with partial and moving-buffer writes allowed
/// (`TLSServerContext`), so a write retried after WANT_WRITE may come from
/// what is left of the loop's output buffer.
// Safe to share: one event loop's thread makes every call (`NonBlockingStream`); the session is handed to it once, before any call.
final class TLSServerSession: NonBlockingStream, @unchecked Sendable {
    private let ssl: OpaquePointer
    let socket: StreamSocket
    private var closeNotifySent = false

    init(ssl: OpaquePointer, socket: StreamSocket) {
        self.ssl = ssl
        self.socket = socket
    }

    deinit {
        SSL_free(ssl)
    }

    func handshake() throws -> StreamProgress {
        let status = SSL_accept(ssl)
        if status == 1 { return .transferred(0) }
        return try progress(status, what: "TLS handshake with \(socket.peer)")
    }

    func readAvailable(into buffer: UnsafeMutableRawBufferPointer) throws -> StreamProgress {
        let n = SSL_read(ssl, buffer.baseAddress, Int32(min(buffer.count, Int(Int32.max))))
        if n > 0 { return .transferred(Int(n)) }
        return try progress(n, what: "TLS read from \(socket.peer)")
    }

    func writeAvailable(_ bytes: UnsafeRawBufferPointer) throws -> StreamProgress {
        guard !bytes.isEmpty else { return .transferred(0) }
        let n = SSL_write(ssl, bytes.baseAddress, Int32(min(bytes.count, Int(Int32.max))))
        if n > 0 { return .transferred(Int(n)) }
        return try progress(n, what: "TLS write to \(socket.peer)")
    }

    var hasBufferedInput: Bool { SSL_pending(ssl) > 0 }

    /// close_notify as far as the socket takes it now (a goodbye, not a promise), then a FIN.
    func shutdownSending() {
        if !closeNotifySent {
            closeNotifySent = true
            SSL_shutdown(ssl)
        }
        socket.shutdownSending()
    }

    /// What a call that did not transfer bytes means.
    private func progress(_ status: Int32, what: @autoclosure () -> String) throws -> StreamProgress {
        switch SSL_get_error(ssl, status) {
        case SSL_ERROR_WANT_READ: return .needsReadable
        case SSL_ERROR_WANT_WRITE: return .needsWritable
        case SSL_ERROR_ZERO_RETURN: return .ended
        case SSL_ERROR_SYSCALL where ERR_peek_error() == 0:
            // The peer closed the TCP connection without a TLS close_notify.
            return .ended
        default:
            throw TLSError.openSSL(what())
        }
    }
}
