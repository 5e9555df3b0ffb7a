/// A chunk id as a set member, hashed once when it is made.
///
/// Swift's sets keep no hash values beside their members: each lookup compares
/// the member in every occupied bucket it probes, and for the new chunk of
/// nearly every frame (a miss) that is several of them. Comparing byte arrays
/// there, each behind a pointer, was a visible part of every commit; the
/// digest beside the bytes settles nearly every comparison without reading
/// them, and hashing a member costs one word instead of the whole id.
struct ChunkID: Hashable {
    let bytes: [UInt8]
    /// The bytes' hash with this process's seed; equal ids have equal digests.
    let digest: Int

    init(_ bytes: [UInt8]) {
        self.bytes = bytes
        var hasher = Hasher()
        bytes.withUnsafeBytes { hasher.combine(bytes: $0) }
        digest = hasher.finalize()
    }

    static func == (lhs: ChunkID, rhs: ChunkID) -> Bool {
        lhs.digest == rhs.digest && lhs.bytes == rhs.bytes
    }

    func hash(into hasher: inout Hasher) {
        hasher.combine(digest)
    }
}
