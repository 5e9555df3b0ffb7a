import COpenSSL

/// The forward input's TLS (`tls On`, `tls.crt_file`, `tls.key_file`, as in
/// Fluent Bit), over the system's OpenSSL: TLS 1.2 or newer, the certificate
/// chain and key loaded once at start.
// Safe to share: the SSL_CTX is only read after init (SSL_new is thread-safe on it).
public final class TLSServerContext: @unchecked Sendable {
    private let context: OpaquePointer

    public init(certificateFile: String, keyFile: String) throws {
        guard let context = SSL_CTX_new(TLS_server_method()) else { throw TLSError.openSSL("creating the TLS context") }
        self.context = context
        guard copenssl_ctx_set_min_tls12(context) == 1 else { throw TLSError.openSSL("requiring TLS 1.2") }
        // A client that hangs up without close_notify has simply closed the connection.
        copenssl_ctx_ignore_unexpected_eof(context)
        copenssl_ctx_allow_partial_writes(context)
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

    /// A session for an accepted socket made non-blocking; its handshake is
    /// run by the event loop that serves the connection (`handshake()`).
    public func session(for socket: StreamSocket) throws -> any NonBlockingStream {
        guard let ssl = SSL_new(context) else { throw TLSError.openSSL("creating a TLS session for \(socket.peer)") }
        guard SSL_set_fd(ssl, Int32(truncatingIfNeeded: socket.descriptor)) == 1 else {
            SSL_free(ssl)
            throw TLSError.openSSL("attaching TLS to \(socket.peer)")
        }
        return TLSServerSession(ssl: ssl, socket: socket)
    }
}
