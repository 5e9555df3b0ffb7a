import Foundation

/// The EC2 instance profile through IMDSv2 (a session token first, then the
/// role's keys), at 169.254.169.254 or `AWS_EC2_METADATA_SERVICE_ENDPOINT`.
/// `AWS_EC2_METADATA_DISABLED=true` turns it off.
public struct InstanceMetadataCredentialsProvider: CredentialsProvider {
    public let name = "EC2 instance metadata (IMDSv2)"
    let endpoint: URL
    let disabled: Bool

    public init(environment: [String: String]) {
        let base = environment["AWS_EC2_METADATA_SERVICE_ENDPOINT"].flatMap { $0.isEmpty ? nil : $0 } ?? "http://169.254.169.254"
        endpoint = URL(string: base.hasSuffix("/") ? String(base.dropLast()) : base) ?? URL(fileURLWithPath: "/")
        disabled = environment["AWS_EC2_METADATA_DISABLED"]?.lowercased() == "true"
    }

    public func credentials() async throws -> AWSCredentials {
        guard !disabled else { throw CredentialsError(source: name, reason: "AWS_EC2_METADATA_DISABLED is true") }
        let tokenURL = endpoint.appendingPathComponent("latest/api/token")
        let token = String(decoding: try await CredentialsHTTP.request(
            tokenURL, method: "PUT", headers: ["X-aws-ec2-metadata-token-ttl-seconds": "21600"], source: name), as: UTF8.self)
        let auth = ["X-aws-ec2-metadata-token": token]
        let rolesURL = endpoint.appendingPathComponent("latest/meta-data/iam/security-credentials/")
        let roles = String(decoding: try await CredentialsHTTP.request(rolesURL, headers: auth, source: name), as: UTF8.self)
        guard let role = roles.split(whereSeparator: \.isNewline).first.map(String.init), !role.isEmpty else {
            throw CredentialsError(source: name, reason: "the instance has no IAM role")
        }
        let data = try await CredentialsHTTP.request(rolesURL.appendingPathComponent(role), headers: auth, source: name)
        return try CredentialsHTTP.decodeCredentials(data, source: name)
    }
}
