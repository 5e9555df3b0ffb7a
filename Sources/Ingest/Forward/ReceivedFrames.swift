import Records

/// The filtered records of the frames one read brought in, and the chunks to ack once they are stored.
struct ReceivedFrames {
    var batches: [IngestBatch] = []
    var chunks: [MessagePackValue] = []
    private let pipeline: FilterPipeline
    private let tagPrefix: String
    private let assembler: PartialMessageAssembler
    private let sink: IngestSink
    private var memo: FilterPipeline.Memo
    /// The last frame's tag with `Tag_Prefix` added: frames in a row usually share it (byte for byte, `TagBytes`).
    private var lastTag: (received: String, prefixed: String)?

    init(pipeline: FilterPipeline, tagPrefix: String, assembler: PartialMessageAssembler, sink: IngestSink) {
        self.pipeline = pipeline
        self.tagPrefix = tagPrefix
        self.assembler = assembler
        self.sink = sink
        memo = pipeline.makeMemo()
    }

    /// The tag of the last frame added, as the client sent it: the next frame's tag is usually the same.
    var lastReceivedTag: String? { lastTag?.received }

    /// Forgets the frames handed over, keeping the memos for the next read,
    /// and the lists' memory while it is small: a client that sends a frame
    /// per read (Docker's) then costs them no allocation, and one read of
    /// thousands of tiny frames leaves nothing large behind.
    mutating func clearFrames() {
        batches.removeAll(keepingCapacity: batches.capacity <= Self.keptFrames)
        chunks.removeAll(keepingCapacity: chunks.capacity <= Self.keptFrames)
    }

    /// The most frames whose lists' memory is kept from one read to the next.
    static let keptFrames = 16

    /// Takes the frame's records (leaving it empty), so that each is the only
    /// copy of its bytes and filters edit it in place.
    mutating func add(_ frame: inout ForwardFrame) {
        let tag: String
        if let lastTag, TagBytes.same(lastTag.received, frame.tag) {
            tag = lastTag.prefixed
        } else {
            tag = tagPrefix + frame.tag
            lastTag = (frame.tag, tag)
        }
        var batch = IngestBatch(chunk: frame.chunk.map(Self.chunkKey), records: [])
        if let chunk = frame.chunk, let key = batch.chunk, sink.hasStored(chunk: key) {
            // A resend of a frame already stored: ack it again, store and join nothing.
            batches.append(batch)
            chunks.append(chunk)
            return
        }
        var entries: [(time: EventTime, record: LogRecord)] = []
        swap(&entries, &frame.entries)
        batch.records.reserveCapacity(entries.count)
        for index in entries.indices {
            var record = TaggedRecord(tag: tag, time: entries[index].time, record: LogRecord())
            swap(&record.record, &entries[index].record)
            guard PartialMessageAssembler.isMarkedAsPiece(record.record) else {
                pipeline.process(consume record, into: &batch.records, memo: &memo)
                continue
            }
            // Split lines are joined before the filters see them.
            switch assembler.add(record) {
            case .whole(let record):
                pipeline.process(record, into: &batch.records, memo: &memo)
            case .held(let piece):
                batch.staged.append(piece)
            case .completed(let record, let key, _):
                pipeline.process(record, into: &batch.records, memo: &memo)
                batch.completedLines.append(key)
            }
        }
        batches.append(batch)
        if let chunk = frame.chunk { chunks.append(chunk) }
    }

    /// The longest chunk id kept as it is; Fluentd and Docker send 24 bytes.
    static let maxChunkKeyBytes = 64

    /// The bytes that identify a chunk: the id itself for the usual string or
    /// binary. A longer id (or one of another type) is kept as its SHA-512
    /// digest behind a 0xff marker, so that remembering the last thousands of
    /// chunks costs the same whatever ids a client makes up.
    static func chunkKey(_ chunk: MessagePackValue) -> [UInt8] {
        let bytes: [UInt8]
        switch chunk {
        case .string(let id), .binary(let id): bytes = id
        default: bytes = MessagePackEncoder.encoded(chunk)
        }
        guard bytes.count > maxChunkKeyBytes else { return bytes }
        return [0xff] + ForwardHandshake.sha512(bytes)
    }
}
