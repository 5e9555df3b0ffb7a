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

    /// Goes back to an empty buffer of `capacity` bytes (when nothing in it is needed any more).
    func shrink(to capacity: Int) {
        storage.deallocate()
        storage = .allocate(capacity: capacity)
    }

    /// Grows to `capacity` bytes, keeping the first `keeping`.
    func grow(to capacity: Int, keeping: Int) {
        let larger = UnsafeMutableBufferPointer<UInt8>.allocate(capacity: capacity)
        if let from = storage.baseAddress, let to = larger.baseAddress {
            UnsafeMutableRawPointer(to).copyMemory(from: from, byteCount: keeping)
        }
        storage.deallocate()
        storage = larger
    }
}
