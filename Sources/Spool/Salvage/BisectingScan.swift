/// Reads a table of a damaged database by id range, so that one bad page
/// costs only the rows on it.
///
/// SQLite stops a query at the first page it cannot read (`SQLITE_CORRUPT`,
/// `SQLITE_NOTADB`, a short read of a truncated file). The scan keeps every row
/// it got before the error, then halves what is left of the range and reads each
/// half again, down to single ids: rows on either side of a bad page are read,
/// and the ids that still fail are reported. Rows come in ascending id order.
///
/// An id reported unreadable may never have existed (a gap left by deleted
/// rows): without the page there is no telling.
struct BisectingScan {
    /// Selects rows with `?1 <= id <= ?2` in id order, the id in column 0.
    private let statement: SQLiteStatement

    init(statement: SQLiteStatement) {
        self.statement = statement
    }

    /// Calls `row` with the statement on each readable row of `ids`; returns the ids that could not be read.
    /// Errors other than damage, and errors `row` throws, end the scan.
    func scan(_ ids: ClosedRange<Int64>, row: (SQLiteStatement) throws -> Void) throws -> IDRanges {
        var unreadable = IDRanges()
        try walk(ids, row: row, unreadable: &unreadable)
        return unreadable
    }

    private func walk(_ ids: ClosedRange<Int64>, row: (SQLiteStatement) throws -> Void, unreadable: inout IDRanges) throws {
        guard let next = try read(ids, row: row) else { return }
        if next == ids.upperBound {
            unreadable.add(next)
            return
        }
        // `next < upperBound` here, so neither half is empty and neither overflows.
        let middle = next + (ids.upperBound - next) / 2
        try walk(next...middle, row: row, unreadable: &unreadable)
        try walk((middle + 1)...ids.upperBound, row: row, unreadable: &unreadable)
    }

    /// Reads `ids` in one query; nil if it got to the end, else the id to go on from after damage.
    /// Only the query's own damage errors are caught: what `row` throws ends the scan.
    private func read(_ ids: ClosedRange<Int64>, row: (SQLiteStatement) throws -> Void) throws -> Int64? {
        defer { statement.reset() }
        try statement.bind(1, ids.lowerBound)
        try statement.bind(2, ids.upperBound)
        var next = ids.lowerBound
        while true {
            do {
                guard try statement.step() else { return nil }
            } catch let error as SQLiteError where error.isDamage {
                return next
            }
            let id = statement.int64(0)
            try row(statement)
            guard id < ids.upperBound else { return nil }
            next = id + 1
        }
    }
}

extension SQLiteError {
    /// The data could not be read as a database: damaged pages, a truncated
    /// file or a failing disk. A salvage reads around these.
    var isDamage: Bool {
        switch code & 0xff {
        case 10, 11, 24, 26: return true  // SQLITE_IOERR, SQLITE_CORRUPT, SQLITE_FORMAT, SQLITE_NOTADB
        default: return false
        }
    }
}
