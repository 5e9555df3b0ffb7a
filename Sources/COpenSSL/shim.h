#ifndef COPENSSL_SHIM_H
#define COPENSSL_SHIM_H
/* Before OpenSSL's headers: wincrypt.h defines X509_NAME and other names OpenSSL
   uses as macros, and OpenSSL's headers undefine them only when it came first. */
#ifdef _WIN32
#include <windows.h>
#include <wincrypt.h>
#endif
#include <openssl/evp.h>
#include <openssl/hmac.h>
#include <openssl/sha.h>
#include <openssl/rand.h>
#include <openssl/ssl.h>
#include <openssl/err.h>

/* SSL_CTX_set_min_proto_version is a macro Swift cannot import. */
static inline long copenssl_ctx_set_min_tls12(SSL_CTX *ctx) {
    return SSL_CTX_set_min_proto_version(ctx, TLS1_2_VERSION);
}

/* Treat a peer that closes without close_notify as end of stream (OpenSSL 3
   otherwise reports an error); callers check lengths themselves. */
static inline void copenssl_ctx_ignore_unexpected_eof(SSL_CTX *ctx) {
#ifdef SSL_OP_IGNORE_UNEXPECTED_EOF
    SSL_CTX_set_options(ctx, SSL_OP_IGNORE_UNEXPECTED_EOF);
#endif
}

/* SSL_set_tlsext_host_name (SNI) is a macro Swift cannot import. */
static inline long copenssl_set_server_name(SSL *ssl, const char *name) {
    return SSL_set_tlsext_host_name(ssl, name);
}

/* The system's trusted roots for a client context. OpenSSL's default paths
   (SSL_CERT_FILE, SSL_CERT_DIR, or its build's directory: Debian's
   ca-certificates) serve Linux. On Windows those paths hold nothing, so the
   certificates of the system store "ROOT" are added as well, the way
   OpenSSL-based clients on Windows do (crypt32: CertOpenSystemStoreW,
   CertEnumCertificatesInStore, CertCloseStore). Returns 0 only when OpenSSL
   could not take its default paths and (on Windows) no root was added. */
#ifdef _WIN32
static inline int copenssl_ctx_load_system_roots(SSL_CTX *ctx) {
    int loaded = SSL_CTX_set_default_verify_paths(ctx);
    HCERTSTORE roots = CertOpenSystemStoreW(0, L"ROOT");
    if (roots == NULL) return loaded;
    X509_STORE *store = SSL_CTX_get_cert_store(ctx);
    PCCERT_CONTEXT certificate = NULL;
    while ((certificate = CertEnumCertificatesInStore(roots, certificate)) != NULL) {
        const unsigned char *encoded = certificate->pbCertEncoded;
        X509 *decoded = d2i_X509(NULL, &encoded, (long)certificate->cbCertEncoded);
        if (decoded == NULL) continue;
        if (X509_STORE_add_cert(store, decoded) == 1) loaded = 1;
        X509_free(decoded);
    }
    CertCloseStore(roots, 0);
    return loaded;
}
#else
static inline int copenssl_ctx_load_system_roots(SSL_CTX *ctx) {
    return SSL_CTX_set_default_verify_paths(ctx);
}
#endif
/* SSL_CTX_set_mode is a macro Swift cannot import. For sessions on
   non-blocking sockets: SSL_write may take part of its bytes, and a write
   retried after WANT_WRITE may come from a buffer that moved. */
static inline void copenssl_ctx_allow_partial_writes(SSL_CTX *ctx) {
    SSL_CTX_set_mode(ctx, SSL_MODE_ENABLE_PARTIAL_WRITE | SSL_MODE_ACCEPT_MOVING_WRITE_BUFFER);
}

#endif
