/// The configured filters, run in config order on the records whose tag they match.
///
/// A record re-emitted by rewrite_tag starts again at the first filter under
/// its new tag, as Fluent Bit's emitter does; the filter that emitted it is
/// skipped on that path, so a rule cannot re-emit its own output forever.
public struct FilterPipeline: Sendable {
    public let filters: [any RecordFilter]

    public init(filters: [any RecordFilter]) {
        self.filters = filters
    }

    /// Runs `record` through every filter and appends what comes out to `output`.
    public func process(_ record: TaggedRecord, into output: inout [TaggedRecord]) {
        run(record, emitters: [], into: &output)
    }

    private func run(_ input: TaggedRecord, emitters: Set<Int>, into output: inout [TaggedRecord]) {
        var current = input
        for (index, filter) in filters.enumerated() where !emitters.contains(index) && filter.match.matches(current.tag) {
            switch filter.apply(tag: current.tag, record: &current.record) {
            case .pass:
                continue
            case .reemit(let newTag, let keepOriginal):
                var copy = current
                copy.tag = newTag
                run(copy, emitters: emitters.union([index]), into: &output)
                if !keepOriginal { return }
            }
        }
        output.append(current)
    }
}
