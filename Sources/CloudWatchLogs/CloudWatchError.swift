/// A failed CloudWatch Logs call: what the service or the transport said. What a sender does
/// about it is `DeliveryAction`'s table, in ShipperCore.
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
    /// `expectedSequenceToken` from an `InvalidSequenceTokenException`, when the service sent it.
    public var expectedSequenceToken: String?

    public init(operation: String, kind: Kind, expectedSequenceToken: String? = nil) {
        self.operation = operation
        self.kind = kind
        self.expectedSequenceToken = expectedSequenceToken
    }

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

    /// Someone else created the group or stream first: as good as success.
    public var isAlreadyExists: Bool { serviceType == "ResourceAlreadyExistsException" }

    /// The request was signed with a clock too far from the service's.
    public var isClockSkew: Bool {
        guard case .service(let type, let message, _) = kind else { return false }
        return type.contains("Skew") || message.contains("Signature expired") || message.contains("Signature not yet current")
    }

    /// The service does not accept the keys (expired, unknown or revoked): fetch fresh ones.
    public var isCredentialsRejected: Bool {
        ["ExpiredTokenException", "ExpiredToken", "UnrecognizedClientException", "InvalidClientTokenId", "IncompleteSignature"].contains(serviceType ?? "")
    }

    /// Access is denied or the keys are not accepted: retry slowly, it needs an operator.
    public var isAuthorization: Bool {
        isCredentialsRejected || serviceType == "AccessDeniedException" || { if case .credentials = kind { return true } else { return false } }()
    }

    /// The endpoint itself is failing (a 5xx answer, or none usable): what an outage looks like.
    public var isEndpointFailure: Bool {
        switch kind {
        case .service(_, _, let status), .badResponse(let status, _): return status >= 500
        case .transport: return true
        case .credentials: return false
        }
    }
}
