import Records
/// The configured filters, run in config order on the records whose tag they match.
///
/// A record re-emitted by rewrite_tag starts again at the first filter under
/// its new tag, as Fluent Bit's emitter does; the filter that emitted it is
/// skipped on that path, so a rule cannot re-emit its own output forever.
public struct FilterPipeline: Sendable {
    public let filters: [any RecordFilter]
    /// The filters with their patterns, as classes: the loop over them runs for
    /// every record, and a copy of a filter would take a count per string and
    /// array in it; lent without taking any (`SharedObjects`).
    private let stages: SharedObjects<Stage>

    fileprivate final class Stage: Sendable {
        let filter: any RecordFilter
        let match: TagPattern

        init(_ filter: any RecordFilter) {
            self.filter = filter
            self.match = filter.match
        }
    }

    public init(filters: [any RecordFilter]) {
        self.filters = filters
        self.stages = SharedObjects(filters.map(Stage.init))
    }

    /// What one connection remembers between its records: what each filter's
    /// `Match` said of the last two tags, and each filter's own memo. Records
    /// come in runs with one tag (a frame's, or the one rewrite_tag made for a
    /// container), so each pattern is tried once per run instead of once per
    /// record. Two, because a record rewrite_tag re-emits starts again at the
    /// first filter under its new tag: the filters before the rewrite see the
    /// frame's tag and the new one in turn, record after record.
    public struct Memo {
        fileprivate var answers: [TagAnswers]
        fileprivate let filterMemos: [AnyObject?]

        fileprivate mutating func matches(_ stage: Stage, at index: Int, _ tag: String) -> Bool {
            if let known = answers[index].answer(for: tag) { return known }
            let matches = stage.match.matches(tag)
            answers[index].remember(tag, matches)
            return matches
        }
    }

    /// What one filter's `Match` said of the last two tags it was asked about.
    fileprivate struct TagAnswers {
        private var latest: (tag: String, matches: Bool)?
        private var previous: (tag: String, matches: Bool)?

        func answer(for tag: String) -> Bool? {
            if let latest, latest.tag == tag { return latest.matches }
            if let previous, previous.tag == tag { return previous.matches }
            return nil
        }

        mutating func remember(_ tag: String, _ matches: Bool) {
            previous = latest
            latest = (tag, matches)
        }
    }

    public func makeMemo() -> Memo {
        Memo(answers: Array(repeating: TagAnswers(), count: stages.count),
             filterMemos: stages.indices.map { index in stages.withElement(at: index) { $0.filter.makeConnectionMemo() } })
    }

    /// Runs `record` through every filter and appends what comes out to `output`.
    public func process(_ record: consuming TaggedRecord, into output: inout [TaggedRecord]) {
        var memo = makeMemo()
        process(record, into: &output, memo: &memo)
    }

    /// Runs `record` through every filter with one connection's `memo`.
    ///
    /// The record goes down the filters in place (`inout`) and callers hand it
    /// over with `consume`: any second reference to its bytes while a filter
    /// edits them would make that filter copy them all, a whole record per
    /// record (measured: one copy of every Docker record at its first rename).
    public func process(_ record: consuming TaggedRecord, into output: inout [TaggedRecord], memo: inout Memo) {
        var current = consume record
        run(&current, emitters: Emitters(), into: &output, memo: &memo)
    }

    private func run(_ current: inout TaggedRecord, emitters: Emitters, into output: inout [TaggedRecord], memo: inout Memo) {
        for index in stages.indices where !emitters.contains(index) {
            let outcome = stages.withElement(at: index) { stage -> FilterOutcome? in
                guard memo.matches(stage, at: index, current.tag) else { return nil }
                return stage.filter.apply(tag: current.tag, record: &current.record, memo: memo.filterMemos[index])
            }
            switch outcome {
            case nil, .pass?:
                continue
            case .reemit(let newTag, keepOriginal: true)?:
                var copy = current
                copy.tag = newTag
                run(&copy, emitters: emitters.adding(index), into: &output, memo: &memo)
            case .reemit(let newTag, keepOriginal: false)?:
                // The record moves on under its new tag: no copy of its bytes.
                current.tag = newTag
                run(&current, emitters: emitters.adding(index), into: &output, memo: &memo)
                return
            }
        }
        output.append(current)
    }

    /// The filters that emitted the record on this path: a bit per filter, so
    /// that a re-emit costs no allocation (a set only past 64 filters).
    private struct Emitters {
        private var bits: UInt64 = 0
        private var beyond: Set<Int> = []

        func contains(_ index: Int) -> Bool {
            index < 64 ? bits & (1 << UInt64(index)) != 0 : beyond.contains(index)
        }

        func adding(_ index: Int) -> Emitters {
            var result = self
            if index < 64 { result.bits |= 1 << UInt64(index) } else { result.beyond.insert(index) }
            return result
        }
    }
}
