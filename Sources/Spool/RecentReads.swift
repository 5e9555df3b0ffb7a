/// What `Spool.undelivered` last handed out for a few streams: each record's
/// id and message length, from the cursor on. `Spool.markDelivered` must take
/// what its cursor passes off the stream's pending counters; counting those
/// records again in SQL would read every delivered record a second time (the
/// drain took 5.8-6.6 s of CPU per million events that way, 3.5-4.0 without),
/// while the batch it delivers was read just before, from the same cursor.
///
/// Only as many streams as delivery has batches in flight are kept, so an
/// outage with a thousand streams retrying does not keep a thousand reads.
/// Used under the spool's reader lock.
struct RecentReads {
    static let streamsKept = 16

    private struct Read {
        let streamID: Int64
        /// The stream's cursor when the records were read: they are the first ones after it.
        let after: Int64
        let ids: [Int64]
        /// Bytes of the records up to and including each position.
        let bytesThrough: [Int64]
    }

    /// Oldest first.
    private var reads: [Read] = []

    /// Remembers `records`, the first undelivered records of `stream` after its cursor at `after`.
    mutating func remember(stream: Int64, after: Int64, records: [StoredRecord]) {
        reads.removeAll { $0.streamID == stream }
        guard !records.isEmpty else { return }
        var total: Int64 = 0
        let bytes = records.map { record -> Int64 in
            total += Int64(record.message.count)
            return total
        }
        reads.append(Read(streamID: stream, after: after, ids: records.map(\.id), bytesThrough: bytes))
        if reads.count > Self.streamsKept { reads.removeFirst() }
    }

    /// How many records, and of how many bytes, a cursor at `after` passes by moving to
    /// `through`; nil unless a read from that cursor covers them.
    func passed(stream: Int64, after: Int64, through: Int64) -> (records: Int64, bytes: Int64)? {
        guard let read = reads.last(where: { $0.streamID == stream }), read.after == after,
              let last = read.ids.last, through <= last else { return nil }
        // The read held every record after `after` up to its last id: those up to `through` are a prefix of it.
        var low = 0
        var high = read.ids.count
        while low < high {
            let middle = (low + high) / 2
            if read.ids[middle] <= through { low = middle + 1 } else { high = middle }
        }
        return low == 0 ? (0, 0) : (Int64(low), read.bytesThrough[low - 1])
    }

    /// Forgets the stream's read once its cursor has moved.
    mutating func forget(stream: Int64) {
        reads.removeAll { $0.streamID == stream }
    }
}
