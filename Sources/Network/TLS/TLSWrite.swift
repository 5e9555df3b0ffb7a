import COpenSSL

/// Sends bytes whole over a TLS session.
///
/// `SSL_write` may take only part of what it is given. The input's TLS
/// streams and the CloudWatch client's unverified transport both need the
/// loop, so it lives here once.
public enum TLSWrite {
    /// Sends all of `bytes`; throws a `TLSError` that says `what` failed.
    public static func all(_ ssl: OpaquePointer, _ bytes: UnsafeRawBufferPointer, what: @autoclosure () -> String) throws {
        var offset = 0
        while offset < bytes.count {
            let n = SSL_write(ssl, bytes.baseAddress! + offset, Int32(min(bytes.count - offset, Int(Int32.max))))
            guard n > 0 else { throw TLSError.openSSL(what()) }
            offset += Int(n)
        }
    }
}
