/// Why the spool could not do what was asked; every case names the file or operation.
public enum SpoolError: Error, CustomStringConvertible {
    case database(SQLiteError)
    case filePermissions(path: String, reason: String)
    case corrupt(path: String, reason: String)
    case unsupportedVersion(path: String, version: Int64)
    case closed

    public var description: String {
        switch self {
        case .database(let error): return "spool: \(error)"
        case .filePermissions(let path, let reason): return "spool: cannot create \(path) readable by its owner only: \(reason)"
        case .corrupt(let path, let reason): return "spool: \(path) is damaged (\(reason)); storage.on_corruption is stop, so the shipper does not start. Move the file away to start with a fresh spool"
        case .unsupportedVersion(let path, let version): return "spool: \(path) has schema version \(version), which this shipper does not know (it writes version \(SpoolSchema.version))"
        case .closed: return "spool: closed"
        }
    }
}
