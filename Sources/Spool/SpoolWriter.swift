import Foundation

/// The single writer of the spool: a group-commit queue.
///
/// Appends from every connection accumulate while the previous transaction
/// commits, then go in together as one transaction. A caller that asked for
/// durability is released only once its records are committed, so an ack
/// never runs ahead of the disk.
final class SpoolWriter: @unchecked Sendable {
    /// One caller's records and, once the writer is done with them, the outcome.
    private final class Batch {
        let records: [SpoolRecord]
        /// Roughly what the batch holds in memory, for the queue bound.
        let bytes: Int
        var result: Result<Void, Error>?
        init(records: [SpoolRecord]) {
            self.records = records
            self.bytes = records.reduce(0) { $0 + $1.message.count + 128 }
        }
    }

    private let database: SQLiteDatabase
    private let condition = NSCondition()
    private var queue: [Batch] = []
    private var queuedBytes = 0
    private var closing = false
    private var finished = false
    private let maxQueuedBytes: Int
    private var streamIDs: [StreamKey: Int64] = [:]
    private let insertRecord: SQLiteStatement
    private let insertStream: SQLiteStatement
    private let selectStream: SQLiteStatement
    private let onCommit: @Sendable () -> Void

    private struct StreamKey: Hashable {
        let group: String
        let stream: String
    }

    init(database: SQLiteDatabase, maxQueuedBytes: Int, onCommit: @escaping @Sendable () -> Void) throws {
        self.database = database
        self.maxQueuedBytes = maxQueuedBytes
        self.onCommit = onCommit
        insertRecord = try database.prepare("INSERT INTO records(stream_id, time_ns, tag, message) VALUES(?, ?, ?, ?)")
        insertStream = try database.prepare("INSERT INTO streams(log_group, log_stream) VALUES(?, ?) ON CONFLICT DO NOTHING")
        selectStream = try database.prepare("SELECT id FROM streams WHERE log_group = ? AND log_stream = ?")
        let thread = Thread { [unowned self] in self.run() }
        thread.name = "spool-writer"
        thread.start()
    }

    /// Queues `records`; with `durable`, returns only after they are committed (or throws).
    func append(_ records: [SpoolRecord], durable: Bool) throws {
        guard !records.isEmpty else { return }
        let batch = Batch(records: records)
        condition.lock()
        defer { condition.unlock() }
        // Memory stays bounded: a full queue makes appenders (and so the sockets) wait.
        while queuedBytes >= maxQueuedBytes && !closing { condition.wait() }
        guard !closing else { throw SpoolError.closed }
        queue.append(batch)
        queuedBytes += batch.bytes
        condition.broadcast()
        guard durable else { return }
        while batch.result == nil { condition.wait() }
        try batch.result?.get()
    }

    /// Commits what is queued, then stops the writer thread.
    func close() {
        condition.lock()
        closing = true
        condition.broadcast()
        while !finished { condition.wait() }
        condition.unlock()
    }

    private func run() {
        while true {
            condition.lock()
            while queue.isEmpty && !closing { condition.wait() }
            let batches = queue
            queue.removeAll(keepingCapacity: true)
            let stop = closing && batches.isEmpty
            condition.unlock()
            if stop { break }

            let result: Result<Void, Error> = Result { try commit(batches) }
            if case .failure = result { streamIDs.removeAll() }

            condition.lock()
            for batch in batches {
                batch.result = result
                queuedBytes -= batch.bytes
            }
            condition.broadcast()
            condition.unlock()
            if case .success = result { onCommit() }
        }
        condition.lock()
        finished = true
        condition.broadcast()
        condition.unlock()
    }

    private func commit(_ batches: [Batch]) throws {
        do {
            try database.transaction {
                for batch in batches {
                    for record in batch.records {
                        let streamID = try streamID(group: record.logGroup, stream: record.logStream)
                        defer { insertRecord.reset() }
                        try insertRecord.bind(1, streamID)
                        try insertRecord.bind(2, record.timeNanoseconds)
                        try insertRecord.bind(3, record.tag)
                        try insertRecord.bind(4, record.message)
                        try insertRecord.step()
                    }
                }
            }
        } catch let error as SQLiteError {
            throw SpoolError.database(error)
        }
    }

    private func streamID(group: String, stream: String) throws -> Int64 {
        let key = StreamKey(group: group, stream: stream)
        if let id = streamIDs[key] { return id }
        defer {
            insertStream.reset()
            selectStream.reset()
        }
        try insertStream.bind(1, group)
        try insertStream.bind(2, stream)
        try insertStream.step()
        try selectStream.bind(1, group)
        try selectStream.bind(2, stream)
        guard try selectStream.step() else {
            throw SQLiteError(code: 1, message: "stream row missing after insert", context: "resolving \(group)/\(stream)")
        }
        let id = selectStream.int64(0)
        streamIDs[key] = id
        return id
    }
}
