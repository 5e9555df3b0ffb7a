import COpenSSL

/// Why TLS could not be set up or a client's TLS handshake failed.
public struct TLSError: Error, CustomStringConvertible {
    public let operation: String
    public let reason: String

    public init(operation: String, reason: String) {
        self.operation = operation
        self.reason = reason
    }

    public var description: String { "\(operation): \(reason)" }

    /// The reasons OpenSSL queued for the last failure.
    public static func openSSL(_ operation: String) -> TLSError {
        var reasons: [String] = []
        while case let code = ERR_get_error(), code != 0 {
            var buffer = [CChar](repeating: 0, count: 256)
            ERR_error_string_n(code, &buffer, buffer.count)
            reasons.append(String(cString: buffer))
        }
        return TLSError(operation: operation, reason: reasons.isEmpty ? "unknown OpenSSL error" : reasons.joined(separator: "; "))
    }
}

/// The forward input's TLS (`tls On`, `tls.crt_file`, `tls.key_file`, as in
/// Fluent Bit), over the system's OpenSSL: TLS 1.2 or newer, the certificate
/// chain and key loaded once at start.
public final class TLSServerContext: @unchecked Sendable {
    private let context: OpaquePointer

    public init(certificateFile: String, keyFile: String) throws {
        guard let context = SSL_CTX_new(TLS_server_method()) else { throw TLSError.openSSL("creating the TLS context") }
        self.context = context
        guard copenssl_ctx_set_min_tls12(context) == 1 else { throw TLSError.openSSL("requiring TLS 1.2") }
        // A client that hangs up without close_notify has simply closed the connection.
        copenssl_ctx_ignore_unexpected_eof(context)
        guard SSL_CTX_use_certificate_chain_file(context, certificateFile) == 1 else {
            throw TLSError.openSSL("loading tls.crt_file \(certificateFile)")
        }
        guard SSL_CTX_use_PrivateKey_file(context, keyFile, SSL_FILETYPE_PEM) == 1 else {
            throw TLSError.openSSL("loading tls.key_file \(keyFile)")
        }
        guard SSL_CTX_check_private_key(context) == 1 else {
            throw TLSError.openSSL("tls.key_file \(keyFile) does not match tls.crt_file \(certificateFile)")
        }
    }

    deinit {
        SSL_CTX_free(context)
    }

    /// Runs the server side of the TLS handshake on an accepted socket.
    func accept(_ socket: StreamSocket) throws -> TLSStream {
        guard let ssl = SSL_new(context) else { throw TLSError.openSSL("creating a TLS session for \(socket.peer)") }
        guard SSL_set_fd(ssl, Int32(truncatingIfNeeded: socket.descriptor)) == 1 else {
            SSL_free(ssl)
            throw TLSError.openSSL("attaching TLS to \(socket.peer)")
        }
        guard SSL_accept(ssl) == 1 else {
            let error = TLSError.openSSL("TLS handshake with \(socket.peer)")
            SSL_free(ssl)
            throw error
        }
        return TLSStream(ssl: ssl, socket: socket)
    }
}

/// A TLS session over an accepted socket.
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

    var allowsWriteDuringRead: Bool { false }

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

    var isReadable: Bool { SSL_pending(ssl) > 0 || socket.isReadable }

    func shutdownSending() {
        sendCloseNotify()
        socket.shutdownSending()
    }

    func resetOnClose() {
        socket.resetOnClose()
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
