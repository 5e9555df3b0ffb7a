/// Why the spool could not do what was asked; every case names the file or operation.
public enum SpoolError: Error, CustomStringConvertible {
    case database(SQLiteError)
    case filePermissions(path: String, reason: String)
    case closed

    public var description: String {
        switch self {
        case .database(let error): return "spool: \(error)"
        case .filePermissions(let path, let reason): return "spool: cannot create \(path) readable by its owner only: \(reason)"
        case .closed: return "spool: closed"
        }
    }
}
