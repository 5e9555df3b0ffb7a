/// The writer's side of `StreamIndex`: counts what its commits add to the
/// tail and catches the index up in the commit that makes the tail too long.
/// Used like `StreamCounters`: `add` while a transaction inserts, `flush`
/// before it commits, `committed` after, `discard` when it failed.
final class StreamIndexer {
    private let database: SQLiteDatabase
    /// The tail as of the last commit. Another writer (salvage, housekeeping) may
    /// have caught the index up since: then this overcounts, and the next
    /// catch-up only comes sooner.
    private var tailRecords: Int
    private var tailBytes: Int
    /// What the open transaction adds.
    private var addedRecords = 0
    private var addedBytes = 0
    private var caughtUp = false

    init(database: SQLiteDatabase) throws {
        self.database = database
        let tail = try database.prepare("SELECT count(*), coalesce(sum(length(message)), 0) FROM records WHERE id > \(StreamIndex.indexedThrough)")
        _ = try tail.step()
        tailRecords = Int(tail.int64(0))
        tailBytes = Int(tail.int64(1))
    }

    /// Counts `records` records of `bytes` bytes inserted by the open transaction.
    func add(records: Int, bytes: Int) {
        addedRecords += records
        addedBytes += bytes
    }

    /// Catches the index up if the tail is now too long, inside the open transaction.
    func flush() throws {
        guard tailRecords + addedRecords >= StreamIndex.maxTailRecords || tailBytes + addedBytes >= StreamIndex.maxTailBytes else { return }
        try StreamIndex.catchUp(database)
        caughtUp = true
    }

    func committed() {
        if caughtUp {
            tailRecords = 0
            tailBytes = 0
        } else {
            tailRecords += addedRecords
            tailBytes += addedBytes
        }
        discard()
    }

    /// Forgets what the open transaction added, as when it failed.
    func discard() {
        addedRecords = 0
        addedBytes = 0
        caughtUp = false
    }
}
