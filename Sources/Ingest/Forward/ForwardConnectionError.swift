import Records

/// Why a connection was closed by the server.
enum ForwardConnectionError: Error, CustomStringConvertible {
    case notAFrame(UInt8)
    case frameTooLarge(limit: Int)
    case malformed(MessagePackError)
    case invalidFrame(ForwardFrameError)
    case handshakeFailed(String)
    case tlsHandshakeTimedOut(peer: String, seconds: Double)
    case acksNotRead(pendingBytes: Int, limit: Int)
    case frameTimedOut(seconds: Double, receivedBytes: Int)

    var description: String {
        switch self {
        case .notAFrame(let byte): return "data does not start a Forward frame (first byte 0x\(String(byte, radix: 16)), expected a msgpack array)"
        case .frameTooLarge(let limit): return "frame larger than Buffer_Max_Size (\(limit) bytes)"
        case .malformed(let error): return "malformed msgpack: \(error)"
        case .invalidFrame(let error): return "invalid frame: \(error)"
        case .handshakeFailed(let reason): return "handshake failed: \(reason)"
        case .tlsHandshakeTimedOut(let peer, let seconds): return "TLS handshake with \(peer): not finished within Handshake_Timeout (\(seconds) s)"
        case .acksNotRead(let pending, let limit):
            return "the client does not read its acks (\(pending) bytes of them unsent, over the bound of \(limit)); it resends what was not acked"
        case .frameTimedOut(let seconds, let received):
            return "a frame begun more than Frame_Timeout (\(seconds) s) ago is still not whole (\(received) bytes of it received); it was not acknowledged"
        }
    }
}
