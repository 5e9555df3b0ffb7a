/// Why the spool could not do what was asked; every case names the file or operation.
public enum SpoolError: Error, CustomStringConvertible {
    case database(SQLiteError)
    case filePermissions(path: String, reason: String)
    case corrupt(path: String, reason: String)
    case unsupportedVersion(path: String, version: Int64)
    case closed
    /// Another process runs on this spool (its process id, when it wrote one).
    case locked(spool: String, holderPID: String?)
    case lockFailed(path: String, reason: String)

    public var description: String {
        switch self {
        case .database(let error): return "spool: \(error)"
        case .filePermissions(let path, let reason): return "spool: cannot create \(path) readable by its owner only: \(reason)"
        case .corrupt(let path, let reason): return "spool: \(path) is damaged (\(reason)); storage.on_corruption is stop, so the shipper does not start. Move the file away to start with a fresh spool"
        case .unsupportedVersion(let path, let version): return "spool: \(path) has schema version \(version), which this shipper does not know (it writes version \(SpoolSchema.version))"
        case .closed: return "spool: closed"
        case .locked(let spool, let pid):
            return "spool: \(spool) is in use by another shipper (process \(pid ?? "unknown")); one instance runs per storage.path. Stop it first, or give this one another --storage-path"
        case .lockFailed(let path, let reason): return "spool: cannot take the lock \(path): \(reason)"
        }
    }
}
