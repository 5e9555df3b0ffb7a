/// A chunk id as a set member, hashed as one run of bytes: an array of bytes
/// hashes each byte alone, which made remembering chunks a visible part of
/// every commit.
struct ChunkID: Hashable {
    let bytes: [UInt8]

    init(_ bytes: [UInt8]) {
        self.bytes = bytes
    }

    func hash(into hasher: inout Hasher) {
        bytes.withUnsafeBytes { hasher.combine(bytes: $0) }
    }
}
