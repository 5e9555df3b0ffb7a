/// A failed CloudWatch Logs call, classified by what the uploader should do about it.
public struct CloudWatchError: Error, CustomStringConvertible {
    public enum Kind: Sendable {
        /// The service answered with an error: `__type` (without namespace) and `message`.
        case service(type: String, message: String, status: Int)
        /// No usable answer: connection refused or reset, timeout, TLS failure.
        case transport(String)
        /// An answer that is not the JSON the API defines.
        case badResponse(status: Int, body: String)
        /// No credentials to sign with.
        case credentials(String)
    }

    public var operation: String
    public var kind: Kind

    public var description: String {
        switch kind {
        case .service(let type, let message, let status): return "\(operation): \(type) (HTTP \(status)): \(message)"
        case .transport(let reason): return "\(operation): \(reason)"
        case .badResponse(let status, let body): return "\(operation): unexpected HTTP \(status) answer: \(body.prefix(200))"
        case .credentials(let reason): return "\(operation): \(reason)"
        }
    }

    /// The error's `__type`, if the service sent one.
    public var serviceType: String? {
        if case .service(let type, _, _) = kind { return type }
        return nil
    }

    /// The group or stream does not exist (yet).
    public var isResourceNotFound: Bool { serviceType == "ResourceNotFoundException" }

    /// Someone else created the group or stream first: as good as success.
    public var isAlreadyExists: Bool { serviceType == "ResourceAlreadyExistsException" }

    /// The request was bad as sent and will fail the same way again.
    public var isBadRequest: Bool {
        guard case .service(let type, _, let status) = kind else { return false }
        return status >= 400 && status < 500 && type == "InvalidParameterException"
    }
}
