/// Why a salvage could not run at all (what it could not read inside the file is in its report instead).
public enum SalvageError: Error, CustomStringConvertible {
    /// The file is missing, not a SQLite database, or one without the spool's tables.
    case notASpool(path: String, reason: String)
    /// The live spool cannot take the records.
    case liveSpool(path: String, reason: String)
    /// The file named is the live spool itself.
    case sameFile(path: String)

    public var description: String {
        switch self {
        case .notASpool(let path, let reason): return "salvage: \(path) is not a readable spool: \(reason)"
        case .liveSpool(let path, let reason): return "salvage: the live spool \(path) cannot take the records: \(reason)"
        case .sameFile(let path): return "salvage: \(path) is the live spool itself; name the moved-aside file (<spool>.corrupt-<time>)"
        }
    }
}
