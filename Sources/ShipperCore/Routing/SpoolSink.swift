import Foundation
import Ingest
import Logging
import Spool

/// The bridge from Ingest to Spool: routes each filtered record to its
/// outputs and stores the result, so ingest can ack once this returns.
// Safe to share: `lock` guards the counters and `unmatchedTags`; router, spool and logger are thread-safe.
final class SpoolSink: IngestSink, @unchecked Sendable {
    private let router: Router
    private let spool: Spool
    private let logger: Logger
    private let lock = NSLock()
    private var unmatchedTags: Set<String> = []
    private var unmatched = 0
    private var accepted = 0

    /// Records taken in (after filters) and records no output matched.
    var counts: (accepted: Int, unmatched: Int) {
        lock.lock()
        defer { lock.unlock() }
        return (accepted, unmatched)
    }

    init(router: Router, spool: Spool, logger: Logger) {
        self.router = router
        self.spool = spool
        self.logger = logger
    }

    func accept(_ batches: [IngestBatch], whenStored: (@Sendable (Error?) -> Void)?) throws {
        // Every frame's records go into one packed buffer; each append is a view of its frame's part.
        var names = router.makeNames()
        var routed = SpoolRecords()
        routed.reserveCapacity(records: batches.reduce(0) { $0 + $1.records.count },
                               bytes: batches.reduce(0) { total, batch in batch.records.reduce(total) { $0 + $1.record.byteCount } })
        var frames: [Range<Int>] = []
        frames.reserveCapacity(batches.count)
        for batch in batches {
            let start = routed.endIndex
            for record in batch.records where !router.route(record, into: &routed, names: &names) {
                noteUnmatched(record.tag)
            }
            frames.append(start..<routed.endIndex)
        }
        let appends = zip(batches, frames).map { batch, frame in
            SpoolAppend(chunk: batch.chunk, records: routed.frame(frame),
                        staged: batch.staged.map { SpoolStagedPiece(key: $0.key, ordinal: $0.ordinal, bytes: $0.bytes) },
                        completedLines: batch.completedLines)
        }
        if let whenStored {
            try spool.append(appends) { result in
                if case .failure(let error) = result { whenStored(error) } else { whenStored(nil) }
            }
        } else {
            try spool.append(appends, durable: false)
        }
        let count = batches.reduce(0) { $0 + $1.records.count }
        lock.lock()
        accepted += count
        lock.unlock()
    }

    func hasStored(chunk: [UInt8]) -> Bool {
        spool.hasCommitted(chunk: chunk)
    }

    /// Counts a record no output matches and warns once per tag, so a
    /// misrouting is visible without a log line per record. Tags are
    /// remembered by their first 256 bytes: 10,000 of them stay small
    /// whatever tags clients send.
    private func noteUnmatched(_ tag: String) {
        lock.lock()
        unmatched += 1
        let remembered = tag.utf8.count <= 256 ? tag : String(decoding: tag.utf8.prefix(256), as: UTF8.self)
        let first = unmatchedTags.count < 10_000 && unmatchedTags.insert(remembered).inserted
        lock.unlock()
        if first {
            logger.warning("record matches no output; it is not stored (check the OUTPUT Match and the rewrite_tag rules)", metadata: ["tag": "\(remembered)\(remembered.utf8.count < tag.utf8.count ? "… (\(tag.utf8.count) bytes)" : "")"])
        }
    }
}
