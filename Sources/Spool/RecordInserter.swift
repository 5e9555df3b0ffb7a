/// Inserts records into the spool, many rows per statement.
///
/// SQLite does some work for every statement it runs (starting and halting
/// the program; with AUTOINCREMENT, reading and updating `sqlite_sequence`),
/// so rows go in `rowsPerStatement` at a time, and the rows left when a
/// transaction ends in as few statements as the binary digits of their count
/// (27 rows take four statements, 16 + 8 + 2 + 1, rather than twelve). Each row's tag, message and
/// chunk id are copied once into a scratch buffer and bound where they lie there, so SQLite
/// does not copy them again.
///
/// The rows go in with `OR FAIL`: a statement that fails keeps the rows it
/// inserted before, which needs no undo of its own, and the writer rolls the
/// whole transaction back on any failure anyway. Under the default `ABORT`
/// SQLite journals every page a statement of several rows changes, to undo that
/// statement alone: with a log stream per container, and an index of records by
/// stream kept in every commit then (before `StreamIndex`), a commit's inserts
/// changed a leaf of it per stream, and past 64 KiB that journal went to
/// a temp file (at 50 acking containers an open, a close and two writes per page
/// each commit); `PRAGMA temp_store = MEMORY` spared the file but not the
/// copying, and cost streams with large commits a tenth more.
final class RecordInserter {
    static let rowsPerStatement = 16

    private struct Row {
        let streamID: Int64
        let timeNanoseconds: Int64
        let chunk: Range<Int>?
        let tag: Range<Int>
        let message: Range<Int>
        let shape: Int64?
    }

    /// `bySize[k]` inserts `1 << k` rows, from 1 up to `rowsPerStatement` (a power of two).
    private let bySize: [SQLiteStatement]
    private var pending: [Row] = []
    private var scratch: [UInt8] = []

    init(database: SQLiteDatabase) throws {
        let insert = "INSERT OR FAIL INTO records(stream_id, time_ns, tag, message, chunk, shape) VALUES "
        bySize = try sequence(first: 1, next: { $0 < Self.rowsPerStatement ? $0 * 2 : nil }).map { rows in
            try database.prepare(insert + Array(repeating: "(?, ?, ?, ?, ?, ?)", count: rows).joined(separator: ", "))
        }
        pending.reserveCapacity(Self.rowsPerStatement)
    }

    /// Queues the rows of one append, the first carrying its chunk id, each
    /// message stored as `shapes` chooses and counted in `counters`; rows go
    /// in once `rowsPerStatement` are queued, the rest on `flush`.
    func add(_ records: SpoolRecords, chunk: [UInt8]?, shapes: MessageShapes, counters: StreamCounters,
             streamID: (SpoolRecords.Destination) throws -> Int64) throws {
        try records.bytes.withUnsafeBytes { bytes in
            for position in records.indices {
                let entry = records.entries[position]
                let stream = try streamID(records.destinations[entry.destination])
                let choice = try shapes.choose(for: UnsafeRawBufferPointer(rebasing: bytes[entry.message]), stream: stream)
                counters.add(streamID: stream, messageBytes: entry.message.count)
                let middle = (entry.message.lowerBound + choice.middle.lowerBound)..<(entry.message.lowerBound + choice.middle.upperBound)
                let tagStart = scratch.count
                scratch.append(contentsOf: UnsafeRawBufferPointer(rebasing: bytes[entry.tag]))
                let messageStart = scratch.count
                scratch.append(contentsOf: UnsafeRawBufferPointer(rebasing: bytes[middle]))
                let messageEnd = scratch.count
                var chunkRange: Range<Int>?
                if position == records.startIndex, let chunk {
                    scratch.append(contentsOf: chunk)
                    chunkRange = messageEnd..<scratch.count
                }
                pending.append(Row(streamID: stream, timeNanoseconds: entry.timeNanoseconds, chunk: chunkRange,
                                   tag: tagStart..<messageStart, message: messageStart..<messageEnd, shape: choice.shape))
                if pending.count == Self.rowsPerStatement { try flush() }
            }
        }
    }

    /// Inserts the queued rows; the transaction must not commit before this.
    func flush() throws {
        defer { discardPending() }
        guard !pending.isEmpty else { return }
        try scratch.withUnsafeBytes { bytes in
            var start = 0
            var size = bySize.count - 1
            while start < pending.count {
                while 1 << size > pending.count - start { size -= 1 }
                try insert(pending[start..<start + (1 << size)], with: bySize[size], bytes)
                start += 1 << size
            }
        }
    }

    /// Forgets queued rows, as when their transaction failed.
    func discardPending() {
        pending.removeAll(keepingCapacity: true)
        scratch.removeAll(keepingCapacity: true)
    }

    private func insert(_ rows: ArraySlice<Row>, with statement: SQLiteStatement, _ bytes: UnsafeRawBufferPointer) throws {
        defer { statement.reset() }
        for (position, row) in rows.enumerated() {
            let first = Int32(position * 6)
            try statement.bind(first + 1, row.streamID)
            try statement.bind(first + 2, row.timeNanoseconds)
            try statement.bind(first + 3, unsafeText: UnsafeRawBufferPointer(rebasing: bytes[row.tag]))
            try statement.bind(first + 4, unsafeBlob: UnsafeRawBufferPointer(rebasing: bytes[row.message]))
            if let chunk = row.chunk { try statement.bind(first + 5, unsafeBlob: UnsafeRawBufferPointer(rebasing: bytes[chunk])) } else { try statement.bindNull(first + 5) }
            if let shape = row.shape { try statement.bind(first + 6, shape) } else { try statement.bindNull(first + 6) }
        }
        try statement.step()
    }
}
