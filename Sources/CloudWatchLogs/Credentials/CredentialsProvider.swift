import Foundation

/// A set of AWS keys; never logged (its description hides the secrets).
public struct AWSCredentials: Sendable, CustomStringConvertible {
    public var accessKeyID: String
    public var secretAccessKey: String
    public var sessionToken: String?
    /// When temporary credentials stop working; nil for long-term keys.
    public var expiration: Date?

    public init(accessKeyID: String, secretAccessKey: String, sessionToken: String? = nil, expiration: Date? = nil) {
        self.accessKeyID = accessKeyID
        self.secretAccessKey = secretAccessKey
        self.sessionToken = sessionToken
        self.expiration = expiration
    }

    public var description: String {
        "AWSCredentials(access key \(accessKeyID.prefix(4))…, expires \(expiration.map { "\($0)" } ?? "never"))"
    }
}

/// Why no credentials could be had, and from where.
public struct CredentialsError: Error, CustomStringConvertible {
    public var source: String
    public var reason: String

    public var description: String { "\(source): \(reason)" }
}

/// One place credentials can come from.
///
/// A protocol so that each link of the AWS SDKs' default chain is a small
/// type, and the chain and the client need not know any of them.
public protocol CredentialsProvider: Sendable {
    /// A short name for log lines ("environment", "ECS container endpoint").
    var name: String { get }
    func credentials() async throws -> AWSCredentials
    /// Forgets cached keys after the service rejected them.
    func invalidate() async
}

extension CredentialsProvider {
    public func invalidate() async {}
}

/// `AWS_ACCESS_KEY_ID`, `AWS_SECRET_ACCESS_KEY` and `AWS_SESSION_TOKEN` from the environment.
public struct EnvironmentCredentialsProvider: CredentialsProvider {
    public let name = "environment"
    let environment: [String: String]

    public init(environment: [String: String]) {
        self.environment = environment
    }

    /// Whether the environment names keys at all.
    var isConfigured: Bool { !(environment["AWS_ACCESS_KEY_ID"] ?? "").isEmpty }

    public func credentials() async throws -> AWSCredentials {
        guard let key = environment["AWS_ACCESS_KEY_ID"], !key.isEmpty,
              let secret = environment["AWS_SECRET_ACCESS_KEY"], !secret.isEmpty else {
            throw CredentialsError(source: name, reason: "AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY must both be set")
        }
        let token = environment["AWS_SESSION_TOKEN"].flatMap { $0.isEmpty ? nil : $0 }
        return AWSCredentials(accessKeyID: key, secretAccessKey: secret, sessionToken: token)
    }
}
