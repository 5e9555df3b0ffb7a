import Foundation

/// The ECS task role: `AWS_CONTAINER_CREDENTIALS_RELATIVE_URI` on
/// 169.254.170.2 (Linux tasks), or `AWS_CONTAINER_CREDENTIALS_FULL_URI` with the
/// token from `AWS_CONTAINER_AUTHORIZATION_TOKEN_FILE` or
/// `AWS_CONTAINER_AUTHORIZATION_TOKEN` (what Windows ECS tasks and EKS Pod
/// Identity use). This is where the tutorial's `fluentTaskRole` comes from.
///
/// The authorization token goes only where the AWS SDKs send it: a `FULL_URI`
/// over https may name any host; over http only loopback, the ECS agent
/// (169.254.170.2) and the EKS Pod Identity agent (169.254.170.23,
/// fd00:ec2::23). Any other is refused with the rule in the error.
public struct ContainerCredentialsProvider: CredentialsProvider {
    public let name = "ECS container endpoint"
    let url: URL?
    /// Why `AWS_CONTAINER_CREDENTIALS_FULL_URI` is not used, when it is set but not allowed.
    let refusal: String?
    let tokenFile: String?
    let token: String?

    /// The hosts a `FULL_URI` may name over plain http, besides loopback.
    static let plainHTTPHosts: Set<String> = ["169.254.170.2", "169.254.170.23", "fd00:ec2::23"]

    public init(environment: [String: String]) {
        var refusal: String?
        if let relative = environment["AWS_CONTAINER_CREDENTIALS_RELATIVE_URI"], !relative.isEmpty {
            url = URL(string: "http://169.254.170.2" + relative)
        } else if let full = environment["AWS_CONTAINER_CREDENTIALS_FULL_URI"], !full.isEmpty {
            refusal = Self.refusal(of: full)
            url = refusal == nil ? URL(string: full) : nil
        } else {
            url = nil
        }
        self.refusal = refusal
        tokenFile = environment["AWS_CONTAINER_AUTHORIZATION_TOKEN_FILE"].flatMap { $0.isEmpty ? nil : $0 }
        token = environment["AWS_CONTAINER_AUTHORIZATION_TOKEN"].flatMap { $0.isEmpty ? nil : $0 }
    }

    var isConfigured: Bool { url != nil || refusal != nil }

    /// Why `full` may not receive the authorization token, or nil when it may.
    static func refusal(of full: String) -> String? {
        guard let url = URL(string: full), let scheme = url.scheme?.lowercased(), let host = url.host?.lowercased(), !host.isEmpty else {
            return "AWS_CONTAINER_CREDENTIALS_FULL_URI \(full) is not a URL with a host"
        }
        if scheme == "https" { return nil }
        let bare = host.hasPrefix("[") && host.hasSuffix("]") ? String(host.dropFirst().dropLast()) : host
        guard scheme == "http", plainHTTPHosts.contains(bare) || isLoopback(bare) else {
            return "AWS_CONTAINER_CREDENTIALS_FULL_URI \(full) is refused: over http only loopback, 169.254.170.2, 169.254.170.23 and fd00:ec2::23 may receive the token (use https for any other host)"
        }
        return nil
    }

    /// 127.0.0.0/8, ::1 or localhost, without asking DNS.
    private static func isLoopback(_ host: String) -> Bool {
        if host == "localhost" || host == "::1" || host == "0:0:0:0:0:0:0:1" { return true }
        let parts = host.split(separator: ".", omittingEmptySubsequences: false)
        return parts.count == 4 && parts[0] == "127" && parts.allSatisfy { UInt8($0) != nil }
    }

    public func credentials() async throws -> AWSCredentials {
        if let refusal { throw CredentialsError(source: name, reason: refusal) }
        guard let url else { throw CredentialsError(source: name, reason: "no AWS_CONTAINER_CREDENTIALS_RELATIVE_URI or _FULL_URI") }
        var headers: [String: String] = [:]
        if let tokenFile {
            // Read on every call: the agent rotates the file.
            guard let value = try? String(contentsOfFile: tokenFile, encoding: .utf8) else {
                throw CredentialsError(source: name, reason: "cannot read AWS_CONTAINER_AUTHORIZATION_TOKEN_FILE \(tokenFile)")
            }
            headers["Authorization"] = value.trimmingCharacters(in: .whitespacesAndNewlines)
        } else if let token {
            headers["Authorization"] = token
        }
        let data = try await CredentialsHTTP.request(url, headers: headers, source: name)
        return try CredentialsHTTP.decodeCredentials(data, source: name)
    }
}
