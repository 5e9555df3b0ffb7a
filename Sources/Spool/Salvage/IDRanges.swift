/// A set of row ids kept as ranges, for reports: one damaged page is a few
/// hundred ids, a truncated file can be millions, and both read as a line.
public struct IDRanges: Codable, Sendable, Equatable, CustomStringConvertible {
    public struct Range: Codable, Sendable, Equatable {
        public var first: Int64
        public var last: Int64
    }

    public private(set) var ranges: [Range] = []

    public init() {}

    /// How many ids the ranges cover.
    public var count: Int64 { ranges.reduce(0) { $0 + ($1.last - $1.first + 1) } }

    public var isEmpty: Bool { ranges.isEmpty }

    /// Adds `ids`; callers add in ascending order, so a range next to the last one extends it.
    mutating func add(_ ids: ClosedRange<Int64>) {
        if let last = ranges.last, last.last + 1 >= ids.lowerBound {
            ranges[ranges.count - 1].last = max(last.last, ids.upperBound)
        } else {
            ranges.append(Range(first: ids.lowerBound, last: ids.upperBound))
        }
    }

    mutating func add(_ id: Int64) { add(id...id) }

    public var description: String {
        ranges.isEmpty ? "none" : ranges.map { $0.first == $0.last ? "\($0.first)" : "\($0.first)-\($0.last)" }.joined(separator: ", ")
    }
}
