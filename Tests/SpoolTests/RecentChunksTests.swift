import XCTest
@testable import Spool

/// The resent-frame memory must answer exactly for the last `capacity` chunks,
/// however its table's probe runs were shifted by the ids that left it.
final class RecentChunksTests: XCTestCase {
    private func id(_ n: Int) -> ChunkID {
        ChunkID(Array("chunk-\(n)".utf8))
    }

    /// Small tables collide on nearly every insert, and the ring wraps many
    /// times: every id ever inserted is asked for after every insert.
    func testRemembersExactlyTheLastCapacityChunksThroughManyWrapArounds() {
        for capacity in [1, 2, 3, 7, 8, 64] {
            var chunks = RecentChunks(capacity: capacity)
            var generator = SystemRandomNumberGenerator()
            var inserted: [Int] = []
            for step in 0..<(capacity * 40 + 50) {
                // Now and then an id already remembered comes again: it must not take a second place.
                let n = step % 5 == 4 && !inserted.isEmpty ? inserted[inserted.count - 1 - Int.random(in: 0..<min(capacity, inserted.count), using: &generator)] : step
                if !inserted.suffix(capacity).contains(n) { inserted.append(n) }
                chunks.insert(id(n))
                let window = Set(inserted.suffix(capacity))
                for m in Set(inserted) {
                    XCTAssertEqual(chunks.contains(id(m)), window.contains(m),
                                   "capacity \(capacity), after step \(step): chunk \(m) \(window.contains(m) ? "is" : "is not") among the last \(capacity)")
                }
                XCTAssertFalse(chunks.contains(id(-1 - step)), "an id never inserted")
            }
        }
    }

    /// Equal bytes are one chunk wherever they come from; other bytes are not, even with a shared prefix.
    func testIdsAreComparedByTheirBytes() {
        var chunks = RecentChunks(capacity: 16)
        chunks.insert(ChunkID([1, 2, 3]))
        XCTAssertTrue(chunks.contains(ChunkID([1, 2, 3])))
        XCTAssertFalse(chunks.contains(ChunkID([1, 2])))
        XCTAssertFalse(chunks.contains(ChunkID([1, 2, 3, 4])))
        XCTAssertFalse(chunks.contains(ChunkID([])))
    }
}
