/// The chunk ids of recently committed frames, so a frame resent by a client
/// that missed its ack is acked again instead of stored twice.
///
/// Docker's driver sends one frame at a time per container and resends only
/// the frame in flight when a connection broke, so the chunks that can come
/// back are among the most recent ones: a bounded set is enough, and it is
/// refilled from the newest rows at start-up.
///
/// It is kept as two generations rather than as one set in first-in-first-out
/// order: removing the oldest member from a hashed set on every commit was a
/// visible part of the writer's time, while dropping a whole generation costs
/// little. It remembers at least the last `capacity` chunks and at most twice as many.
struct RecentChunks {
    private var current: Set<ChunkID> = []
    private var previous: Set<ChunkID> = []
    let capacity: Int

    init(capacity: Int) {
        self.capacity = max(capacity, 1)
        current.reserveCapacity(min(self.capacity, 1 << 16))
    }

    func contains(_ chunk: ChunkID) -> Bool {
        current.contains(chunk) || previous.contains(chunk)
    }

    mutating func insert(_ chunk: ChunkID) {
        guard !previous.contains(chunk) else { return }
        current.insert(chunk)
        if current.count >= capacity {
            swap(&previous, &current)
            current.removeAll(keepingCapacity: true)
        }
    }
}
