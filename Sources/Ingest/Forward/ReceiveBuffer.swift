/// A connection's receive buffer, allocated but not written in advance.
///
/// A zero-filled array writes every page of the buffer when the connection
/// opens; this one leaves the pages to the reads, so a connection that sends
/// small frames keeps the few pages it uses resident, not the whole buffer.
/// Only bytes a read has filled are ever looked at.
final class ReceiveBuffer {
    private var storage: UnsafeMutableBufferPointer<UInt8>

    init(capacity: Int) {
        storage = .allocate(capacity: capacity)
    }

    deinit {
        storage.deallocate()
    }

    var capacity: Int { storage.count }

    /// The first `count` bytes, all filled by reads.
    func filled(_ count: Int) -> UnsafeBufferPointer<UInt8> {
        UnsafeBufferPointer(rebasing: storage[0..<count])
    }

    /// Room for the next read: from `offset`, at most `limit` bytes.
    func room(from offset: Int, limit: Int) -> UnsafeMutableRawBufferPointer {
        UnsafeMutableRawBufferPointer(rebasing: UnsafeMutableRawBufferPointer(storage)[offset..<min(storage.count, offset + limit)])
    }

    /// Moves the bytes in `range` to the start of the buffer.
    func moveToStart(_ range: Range<Int>) {
        guard let base = storage.baseAddress, !range.isEmpty else { return }
        UnsafeMutableRawPointer(base).copyMemory(from: base + range.lowerBound, byteCount: range.count)
    }

    /// Grows or shrinks to `capacity` bytes, keeping the first `keeping` (at most `capacity`).
    func resize(to capacity: Int, keeping: Int) {
        precondition(keeping <= capacity, "a receive buffer cannot shrink below the bytes it keeps")
        let resized = UnsafeMutableBufferPointer<UInt8>.allocate(capacity: capacity)
        if let from = storage.baseAddress, let to = resized.baseAddress {
            UnsafeMutableRawPointer(to).copyMemory(from: from, byteCount: keeping)
        }
        storage.deallocate()
        storage = resized
    }
}
