import ArgumentParser
import Foundation

/// A benchmark's client threads: `body` runs once for each index, each on a
/// thread of its own with 1 MiB of stack (`concurrentPerform` would run only
/// as many at once as there are cores).
enum ClientThreads {
    /// Returns once every thread has; throws the first failure, named `name` and its index.
    static func run(_ count: Int, named name: String, _ body: @escaping @Sendable (Int) throws -> Void) throws {
        let failures = FailureFlag()
        let group = DispatchGroup()
        for index in 0..<count {
            group.enter()
            let thread = Thread {
                do {
                    try body(index)
                } catch {
                    failures.set("\(name) \(index): \(error)")
                }
                group.leave()
            }
            thread.stackSize = 1 << 20
            thread.start()
        }
        group.wait()
        if let failure = failures.message { throw ValidationError(failure) }
    }
}
