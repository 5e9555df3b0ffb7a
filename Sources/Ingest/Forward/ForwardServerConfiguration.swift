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

    public init(listen: String = "0.0.0.0", port: UInt16 = 24224, tagPrefix: String = "",
                bufferChunkSize: Int = 1 << 20, bufferMaxSize: Int = 6 << 20) {
        self.listen = listen
        self.port = port
        self.tagPrefix = tagPrefix
        self.bufferChunkSize = bufferChunkSize
        self.bufferMaxSize = bufferMaxSize
    }
}
