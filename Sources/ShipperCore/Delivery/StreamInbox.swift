import Foundation
import Spool

/// Streams the supervisor found with records, for the uploader already
/// draining their log group: a stream that appears while its group's other
/// streams keep logging starts sending at the uploader's next turn, instead of
/// waiting for the group to empty (which a busy stream never lets happen).
///
/// The uploader waits on `arrival()` beside its streams' calls: it must take a
/// stream in as soon as it comes, not when another of its calls ends, since
/// that call may be one stalled for seconds while every other stream of the
/// group has records waiting.
// Safe to share: `lock` guards `streams`, `waiter` and `waitCancelled`.
final class StreamInbox: @unchecked Sendable {
    private let lock = NSLock()
    private var streams: [SpoolStream] = []
    /// The uploader waiting in `arrival()`, if it is.
    private var waiter: CheckedContinuation<Void, Never>?
    /// Set when the task waiting in `arrival()` is cancelled, perhaps before it stored `waiter`.
    private var waitCancelled = false

    func add(_ more: [SpoolStream]) {
        lock.lock()
        streams += more
        let woken = waiter
        waiter = nil
        lock.unlock()
        woken?.resume()
    }

    /// Everything added since the last call.
    func take() -> [SpoolStream] {
        lock.lock()
        defer { lock.unlock() }
        let taken = streams
        streams = []
        return taken
    }

    /// Returns once streams wait to be taken (at once if some do already), or once
    /// the calling task is cancelled. For one waiter at a time: the group's uploader.
    func arrival() async {
        beginWait()
        await withTaskCancellationHandler {
            await withCheckedContinuation { (continuation: CheckedContinuation<Void, Never>) in
                lock.lock()
                if !streams.isEmpty || waitCancelled {
                    lock.unlock()
                    continuation.resume()
                } else {
                    waiter = continuation
                    lock.unlock()
                }
            }
        } onCancel: {
            lock.lock()
            waitCancelled = true
            let woken = waiter
            waiter = nil
            lock.unlock()
            woken?.resume()
        }
    }

    private func beginWait() {
        lock.lock()
        waitCancelled = false
        lock.unlock()
    }
}
