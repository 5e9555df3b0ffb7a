/// Objects every event loop reads for every record (filter stages, rewrite
/// rules, routes), reached without taking a reference to them.
///
/// A reference taken is a count written, and these objects are shared by the
/// loops: each record made each loop write the counts of every stage it
/// passed, on cache lines the other loop wrote too (by perf at 8 connections,
/// 2.7% of the loops' time for the filter stages alone). The owning array
/// keeps the objects alive for as long as this value lives, so lending one to
/// `body` without a count of its own is safe: it is what `Unmanaged` offers.
public struct SharedObjects<Element: AnyObject & Sendable>: Sendable {
    /// Keeps the objects alive: `unretained` holds no count of its own.
    private let owners: [Element]
    private let unretained: [Unmanaged<Element>]

    public init(_ elements: [Element]) {
        owners = elements
        unretained = elements.map { Unmanaged.passUnretained($0) }
    }

    public var count: Int { unretained.count }

    public var indices: Range<Int> { unretained.indices }

    /// Calls `body` with the object at `index`, lent without a count.
    public func withElement<Result>(at index: Int, _ body: (Element) throws -> Result) rethrows -> Result {
        try unretained[index]._withUnsafeGuaranteedRef(body)
    }
}
