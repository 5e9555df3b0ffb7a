import COpenSSL

/// The client side of TLS, for `shipper cat` and the CloudWatch transport: TLS 1.2
/// or newer, the server's certificate checked against a CA file or the system's
/// trusted roots (on Windows, its "ROOT" store), and its name against the host
/// (or, for test endpoints with self-signed certificates, not checked at all).
// Safe to share: the SSL_CTX is only read after init.
public final class TLSClientContext: @unchecked Sendable {
    private let context: OpaquePointer
    private let verify: Bool

    /// `caFile` nil: the system's trust store (`copenssl_ctx_load_system_roots`); `verify` false: no check (tests only).
    public init(caFile: String?, verify: Bool) throws {
        guard let context = SSL_CTX_new(TLS_client_method()) else { throw TLSError.openSSL("creating a TLS client context") }
        self.context = context
        self.verify = verify
        guard copenssl_ctx_set_min_tls12(context) == 1 else { throw TLSError.openSSL("requiring TLS 1.2") }
        copenssl_ctx_ignore_unexpected_eof(context)
        if verify {
            let loaded = caFile.map { SSL_CTX_load_verify_locations(context, $0, nil) } ?? copenssl_ctx_load_system_roots(context)
            guard loaded == 1 else { throw TLSError.openSSL("loading the CA certificates \(caFile ?? "of the system")") }
            SSL_CTX_set_verify(context, SSL_VERIFY_PEER, nil)
        } else {
            SSL_CTX_set_verify(context, SSL_VERIFY_NONE, nil)
        }
    }

    deinit {
        SSL_CTX_free(context)
    }

    /// Runs the client side of the TLS handshake with `host` over a connected socket.
    public func connect(_ socket: StreamSocket, host: String) throws -> any ByteStream {
        guard let ssl = SSL_new(context) else { throw TLSError.openSSL("creating a TLS session for \(host)") }
        _ = copenssl_set_server_name(ssl, host)
        if verify {
            // The chain alone proves nothing about who answers: the certificate must name `host`.
            let isAddress = host.contains(":") || host.split(separator: ".").count == 4 && host.split(separator: ".").allSatisfy { UInt8($0) != nil }
            let named = isAddress ? X509_VERIFY_PARAM_set1_ip_asc(SSL_get0_param(ssl), host) : SSL_set1_host(ssl, host)
            guard named == 1 else {
                SSL_free(ssl)
                throw TLSError.openSSL("checking the certificate's name \(host)")
            }
        }
        guard SSL_set_fd(ssl, Int32(truncatingIfNeeded: socket.descriptor)) == 1, SSL_connect(ssl) == 1 else {
            let error = TLSError.openSSL("TLS handshake with \(host)")
            SSL_free(ssl)
            throw error
        }
        return TLSStream(ssl: ssl, socket: socket)
    }
}
