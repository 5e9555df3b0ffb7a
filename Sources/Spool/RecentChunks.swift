/// The chunk ids of recently committed frames, so a frame resent by a client
/// that missed its ack is acked again instead of stored twice.
///
/// Docker's driver sends one frame at a time per container and resends only
/// the frame in flight when a connection broke, so the chunks that can come
/// back are among the most recent ones: a bounded window is enough, and it is
/// refilled from the newest rows at start-up. It remembers exactly the last
/// `capacity` chunks.
///
/// Every frame's chunk is looked up twice (by its event loop, then by the
/// writer) and nearly always missed, so a lookup must touch little memory.
/// Two generations of `Set<ChunkID>` probed several 16-byte buckets of two
/// tables of half a MiB each: a few cache misses per lookup, a visible part
/// of every acked record. Here the ids sit in a ring, oldest overwritten,
/// and an open-addressing table of one word per slot (a fingerprint of the
/// id's digest and its place in the ring, linear probing, twice as many slots
/// as ids) finds them: a miss reads one or two neighbouring words, and the id
/// itself is compared only when the fingerprints match. An id leaves the table
/// when the ring overwrites it (backward-shift deletion, so no tombstones
/// slow later lookups).
struct RecentChunks {
    let capacity: Int
    /// The ids, `ring[next]` the oldest once the ring is full.
    private var ring: [ChunkID] = []
    private var next = 0
    /// 0 for an empty slot; else the digest's low 32 bits (high half) and the ring place + 1 (low half).
    private var slots: [UInt64]
    private let mask: Int

    init(capacity: Int) {
        // A ring place must fit in the slot's low half.
        self.capacity = min(max(capacity, 1), Int(Int32.max) / 2)
        var size = 2
        while size < 2 * self.capacity { size <<= 1 }
        slots = Array(repeating: 0, count: size)
        mask = size - 1
        ring.reserveCapacity(min(self.capacity, 1 << 16))
    }

    func contains(_ chunk: ChunkID) -> Bool {
        place(of: chunk) != nil
    }

    mutating func insert(_ chunk: ChunkID) {
        guard place(of: chunk) == nil else { return }
        let place: Int
        if ring.count < capacity {
            place = ring.count
            ring.append(chunk)
        } else {
            place = next
            removeSlot(of: ring[place], at: place)
            ring[place] = chunk
            next = (next + 1) % capacity
        }
        var index = home(of: chunk)
        while slots[index] != 0 { index = (index + 1) & mask }
        slots[index] = UInt64(fingerprint(of: chunk)) << 32 | UInt64(place + 1)
    }

    private func home(of chunk: ChunkID) -> Int {
        Int(fingerprint(of: chunk)) & mask
    }

    private func fingerprint(of chunk: ChunkID) -> UInt32 {
        UInt32(truncatingIfNeeded: chunk.digest)
    }

    /// The ring place of `chunk`, or nil when it is not remembered.
    private func place(of chunk: ChunkID) -> Int? {
        let wanted = UInt64(fingerprint(of: chunk))
        var index = home(of: chunk)
        while true {
            let slot = slots[index]
            if slot == 0 { return nil }
            if slot >> 32 == wanted {
                let place = Int(slot & 0xffff_ffff) - 1
                if ring[place] == chunk { return place }
            }
            index = (index + 1) & mask
        }
    }

    /// Empties the slot that points at ring place `place` (which holds `chunk`) and
    /// moves later slots of the probe run back, so every lookup still finds its id.
    private mutating func removeSlot(of chunk: ChunkID, at place: Int) {
        var hole = home(of: chunk)
        while Int(slots[hole] & 0xffff_ffff) != place + 1 { hole = (hole + 1) & mask }
        var index = hole
        while true {
            index = (index + 1) & mask
            let slot = slots[index]
            if slot == 0 { break }
            let slotHome = Int(slot >> 32) & mask
            // The slot may fill the hole unless its home lies cyclically after the hole, up to the slot itself.
            let homeAfterHole = hole <= index ? (hole < slotHome && slotHome <= index) : (hole < slotHome || slotHome <= index)
            if !homeAfterHole {
                slots[hole] = slot
                hole = index
            }
        }
        slots[hole] = 0
    }
}
