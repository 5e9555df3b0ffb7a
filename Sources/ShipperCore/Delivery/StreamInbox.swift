import Foundation
import Spool

/// Streams the supervisor found with records, for the uploader already
/// draining their log group: a stream that appears while its group's other
/// streams keep logging starts sending at the uploader's next turn, instead of
/// waiting for the group to empty (which a busy stream never lets happen).
// Safe to share: `lock` guards `streams`.
final class StreamInbox: @unchecked Sendable {
    private let lock = NSLock()
    private var streams: [SpoolStream] = []

    func add(_ more: [SpoolStream]) {
        lock.lock()
        streams += more
        lock.unlock()
    }

    /// Everything added since the last call.
    func take() -> [SpoolStream] {
        lock.lock()
        defer { lock.unlock() }
        let taken = streams
        streams = []
        return taken
    }
}
