/// The chunk ids of recently committed frames, so a frame resent by a client
/// that missed its ack is acked again instead of stored twice.
///
/// Docker's driver sends one frame at a time per container and resends only
/// the frame in flight when a connection broke, so the chunks that can come
/// back are among the most recent ones: a bounded first-in-first-out set is
/// enough, and it is refilled from the newest rows at start-up.
struct RecentChunks {
    private var members: Set<ChunkID> = []
    private var order: [ChunkID] = []
    private var next = 0
    let capacity: Int

    init(capacity: Int) {
        self.capacity = capacity
        members.reserveCapacity(min(capacity, 1 << 16))
    }

    func contains(_ chunk: [UInt8]) -> Bool {
        members.contains(ChunkID(chunk))
    }

    mutating func insert(_ bytes: [UInt8]) {
        let chunk = ChunkID(bytes)
        guard members.insert(chunk).inserted else { return }
        if order.count < capacity {
            order.append(chunk)
        } else {
            members.remove(order[next])
            order[next] = chunk
            next = (next + 1) % capacity
        }
    }
}
