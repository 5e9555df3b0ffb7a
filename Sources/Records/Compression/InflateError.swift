/// The compressions a CompressedPackedForward frame may use (`option.compressed`).
public enum Compression: String, Sendable {
    case gzip
    case zstd
}

/// Why a CompressedPackedForward payload could not be inflated.
public enum InflateError: Error, Equatable, CustomStringConvertible {
    case corrupt(Compression, String)
    case truncated(Compression)
    case inflatedSizeOverLimit(Compression, limit: Int)

    public var description: String {
        switch self {
        case .corrupt(let kind, let reason): return "invalid \(kind.rawValue) data: \(reason)"
        case .truncated(let kind): return "\(kind.rawValue) data ends inside a frame"
        case .inflatedSizeOverLimit(let kind, let limit): return "\(kind.rawValue) data inflates past the limit of \(limit) bytes"
        }
    }
}
