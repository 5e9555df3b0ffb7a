import Foundation
import Network
import Records
/// The settings of a `forward` input, named as in Fluent Bit.
public struct ForwardServerConfiguration: Sendable {
    /// `Listen`: the address to bind (`0.0.0.0`, `::`, `127.0.0.1`).
    public var listen: String
    /// `Port`: 0 lets the OS choose; the bound port is logged and returned by `start()`.
    public var port: UInt16
    /// `Tag_Prefix`: prepended to every incoming tag.
    public var tagPrefix: String
    /// `Buffer_Chunk_Size`: how much one read takes from a socket, and the buffer's growth step.
    public var bufferChunkSize: Int
    /// `Buffer_Max_Size`: the largest frame one connection may send; a larger one closes that connection.
    public var bufferMaxSize: Int
    /// `Unix_Path`: listen on this Unix domain socket instead of TCP (Linux only), with `Unix_Perm`.
    public var unixPath: String?
    public var unixPermissions: UInt32 = 0o660
    /// Answer Fluentd's UDP heartbeats on the TCP port (on unless `Unix_Path` is set).
    public var heartbeats = true
    /// `Shared_Key` (with `Self_Hostname` and `Security.Users`): clients must pass the handshake first.
    public var handshake: ForwardHandshake?
    /// `tls On` with `tls.crt_file` and `tls.key_file`: clients speak TLS.
    public var tls: TLSServerContext?
    /// `Max_Connections`: when this many are open, one that never sent a frame for longer than
    /// `Handshake_Timeout` is closed to make room (`ConnectionSlot`); if none, the newcomer is closed at once, with a log line.
    public var maxConnections: Int
    /// `Idle_Timeout`: seconds a connection may send nothing before it is closed; 0 is never.
    /// Off by default: Docker keeps one connection per container open however rarely it logs,
    /// and without acks a write into a connection the server closed is lost.
    public var idleTimeout: Double
    /// `Max_Entries_Per_Frame`: a frame with more entries is refused and its connection closed.
    public var maxEntriesPerFrame = ForwardFrame.Limits.defaultMaxEntries
    /// `Max_Record_Size`: the largest record (msgpack bytes, after inflation); nil is `Buffer_Max_Size`.
    public var maxRecordSize: Int?
    /// `Handshake_Timeout`: seconds a client has to finish the TLS and shared-key handshakes.
    public var handshakeTimeout: Double = 10
    /// `Frame_Timeout`: seconds a frame that has begun to arrive has to arrive whole; 0 is never.
    /// The bytes of an unfinished frame are held (and, past a connection's first buffer, count
    /// in `ingest.max_receive_bytes`): without a deadline, clients that stop inside a frame
    /// would hold them for good. Time spent waiting for a budget is the shipper's, not counted.
    /// A minute lets a 6 MiB frame arrive at 100 KB/s; Docker writes each of its frames at once.
    public var frameTimeout: Double = 60
    /// `Event_Loops`: the threads that serve every connection of this input (`ForwardEventLoop`).
    public var eventLoops = ForwardServerConfiguration.defaultEventLoops
    /// One loop per core, at most 4: a loop uses one core when it is busy, and
    /// past 4 the spool's single writer is the limit, not the loops.
    public static let defaultEventLoops = min(max(ProcessInfo.processInfo.activeProcessorCount, 1), 4)
    /// The most a client may send before it has authenticated: a PING is a few hundred bytes.
    public static let maxBytesBeforeAuthentication = 4096

    public init(listen: String = "0.0.0.0", port: UInt16 = 24224, tagPrefix: String = "",
                bufferChunkSize: Int = 1 << 20, bufferMaxSize: Int = 6 << 20, maxConnections: Int = 1024, idleTimeout: Double = 0) {
        self.listen = listen
        self.port = port
        self.tagPrefix = tagPrefix
        self.bufferChunkSize = bufferChunkSize
        self.bufferMaxSize = bufferMaxSize
        self.maxConnections = maxConnections
        self.idleTimeout = idleTimeout
    }
}
