import Logging

/// Why a connection was closed by the server.
enum ForwardConnectionError: Error, CustomStringConvertible {
    case notAFrame(UInt8)
    case frameTooLarge(limit: Int)
    case malformed(MessagePackError)
    case invalidFrame(ForwardFrameError)

    var description: String {
        switch self {
        case .notAFrame(let byte): return "data does not start a Forward frame (first byte 0x\(String(byte, radix: 16)), expected a msgpack array)"
        case .frameTooLarge(let limit): return "frame larger than Buffer_Max_Size (\(limit) bytes)"
        case .malformed(let error): return "malformed msgpack: \(error)"
        case .invalidFrame(let error): return "invalid frame: \(error)"
        }
    }
}

/// One client connection: reads frames, hands their records to the sink, and acks chunks after commit.
///
/// Everything a read brings in is decoded and handed over together, so a
/// client that pipelines frames gets one commit for all of them. A bad frame
/// ends this connection only; the complete frames before it are kept.
final class ForwardConnection {
    private let socket: TCPSocket
    private let configuration: ForwardServerConfiguration
    private let pipeline: FilterPipeline
    private let sink: IngestSink
    private let logger: Logger
    private let limits: ForwardFrame.Limits

    /// Received bytes; `buffer[consumed..<filled]` is not decoded yet.
    private var buffer: [UInt8]
    private var consumed = 0
    private var filled = 0

    init(socket: TCPSocket, configuration: ForwardServerConfiguration, pipeline: FilterPipeline, sink: IngestSink, logger: Logger) {
        self.socket = socket
        self.configuration = configuration
        self.pipeline = pipeline
        self.sink = sink
        self.logger = logger
        let decoder = MessagePackDecoder(maxLength: configuration.bufferMaxSize, maxDepth: 64)
        self.limits = ForwardFrame.Limits(maxInflatedBytes: configuration.bufferMaxSize, decoder: decoder)
        self.buffer = [UInt8](repeating: 0, count: min(configuration.bufferChunkSize, 64 * 1024))
    }

    /// Serves the connection until the peer closes it, it misbehaves, or the server stops.
    func serve() {
        defer { socket.shutdown() }
        do {
            while try receive() {
                let (frames, failure) = decodeAvailableFrames()
                try deliver(frames)
                if let failure { throw failure }
            }
            if filled > consumed {
                logger.warning("connection closed inside a frame; its partial frame was not acknowledged", metadata: ["peer": "\(socket.peer)", "bytes": "\(filled - consumed)"])
            }
        } catch let error as ForwardConnectionError {
            logger.error("closing connection: \(error)", metadata: ["peer": "\(socket.peer)"])
        } catch {
            logger.error("closing connection: \(error)", metadata: ["peer": "\(socket.peer)"])
        }
    }

    /// Reads more bytes; `false` at end of stream.
    private func receive() throws -> Bool {
        if consumed > 0 && consumed == filled {
            consumed = 0
            filled = 0
        }
        if buffer.count - filled < configuration.bufferChunkSize / 4 || filled == buffer.count {
            if consumed > 0 {
                buffer.withUnsafeMutableBufferPointer { b in
                    let pending = filled - consumed
                    UnsafeMutableRawPointer(b.baseAddress!).copyMemory(from: b.baseAddress! + consumed, byteCount: pending)
                }
                filled -= consumed
                consumed = 0
            }
            if buffer.count - filled < configuration.bufferChunkSize / 4 || filled == buffer.count {
                let wanted = min(buffer.count * 2, configuration.bufferMaxSize + configuration.bufferChunkSize)
                guard wanted > buffer.count else { throw ForwardConnectionError.frameTooLarge(limit: configuration.bufferMaxSize) }
                buffer.append(contentsOf: repeatElement(0, count: wanted - buffer.count))
            }
        }
        let n = try buffer.withUnsafeMutableBytes { raw in
            try socket.read(into: UnsafeMutableRawBufferPointer(rebasing: raw[filled..<min(raw.count, filled + configuration.bufferChunkSize)]))
        }
        filled += n
        return n > 0
    }

    /// Decodes every complete frame in the buffer; stops at the first bad one.
    private func decodeAvailableFrames() -> ([ForwardFrame], ForwardConnectionError?) {
        var frames: [ForwardFrame] = []
        let decoder = limits.decoder
        return buffer.withUnsafeBufferPointer { whole in
            let bytes = UnsafeBufferPointer(rebasing: whole[0..<filled])
            while consumed < filled {
                let first = bytes[consumed]
                guard (0x90...0x9f).contains(first) || first == 0xdc || first == 0xdd else {
                    return (frames, .notAFrame(first))
                }
                do {
                    _ = try decoder.measure(bytes, offset: consumed)
                } catch MessagePackError.truncated {
                    if filled - consumed > configuration.bufferMaxSize {
                        return (frames, .frameTooLarge(limit: configuration.bufferMaxSize))
                    }
                    return (frames, nil)
                } catch let error as MessagePackError {
                    return (frames, .malformed(error))
                } catch {
                    return (frames, nil)
                }
                var offset = consumed
                do {
                    let value = try decoder.decode(bytes, offset: &offset)
                    frames.append(try ForwardFrame(value, limits: limits))
                    consumed = offset
                } catch let error as MessagePackError {
                    return (frames, .malformed(error))
                } catch let error as ForwardFrameError {
                    return (frames, .invalidFrame(error))
                } catch {
                    return (frames, nil)
                }
            }
            return (frames, nil)
        }
    }

    /// Filters and stores the frames' records, then acks the chunks that asked for it.
    private func deliver(_ frames: [ForwardFrame]) throws {
        guard !frames.isEmpty else { return }
        var batches: [IngestBatch] = []
        batches.reserveCapacity(frames.count)
        var chunks: [MessagePackValue] = []
        for frame in frames {
            let tag = configuration.tagPrefix + frame.tag
            var records: [TaggedRecord] = []
            records.reserveCapacity(frame.entries.count)
            for entry in frame.entries {
                pipeline.process(TaggedRecord(tag: tag, time: entry.time, record: entry.record), into: &records)
            }
            batches.append(IngestBatch(chunk: frame.chunk.map(Self.chunkKey), records: records))
            if let chunk = frame.chunk { chunks.append(chunk) }
        }
        try sink.accept(batches, durable: !chunks.isEmpty)
        guard !chunks.isEmpty else { return }
        var encoder = MessagePackEncoder()
        for chunk in chunks {
            encoder.encode(.map([MessagePackPair(key: .string("ack"), value: chunk)]))
        }
        try socket.write(encoder.bytes)
    }

    /// The bytes that identify a chunk: the id itself for the usual string or binary.
    static func chunkKey(_ chunk: MessagePackValue) -> [UInt8] {
        switch chunk {
        case .string(let bytes), .binary(let bytes): return bytes
        default:
            var encoder = MessagePackEncoder()
            encoder.encode(chunk)
            return encoder.bytes
        }
    }
}
