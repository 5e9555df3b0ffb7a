import Foundation

/// The ECS task role: `AWS_CONTAINER_CREDENTIALS_RELATIVE_URI` on
/// 169.254.170.2 (Linux tasks), or `AWS_CONTAINER_CREDENTIALS_FULL_URI` with the
/// token from `AWS_CONTAINER_AUTHORIZATION_TOKEN_FILE` or
/// `AWS_CONTAINER_AUTHORIZATION_TOKEN` (what Windows ECS tasks and EKS Pod
/// Identity use). This is where the tutorial's `fluentTaskRole` comes from.
public struct ContainerCredentialsProvider: CredentialsProvider {
    public let name = "ECS container endpoint"
    let url: URL?
    let tokenFile: String?
    let token: String?

    public init(environment: [String: String]) {
        if let relative = environment["AWS_CONTAINER_CREDENTIALS_RELATIVE_URI"], !relative.isEmpty {
            url = URL(string: "http://169.254.170.2" + relative)
        } else if let full = environment["AWS_CONTAINER_CREDENTIALS_FULL_URI"], !full.isEmpty {
            url = URL(string: full)
        } else {
            url = nil
        }
        tokenFile = environment["AWS_CONTAINER_AUTHORIZATION_TOKEN_FILE"].flatMap { $0.isEmpty ? nil : $0 }
        token = environment["AWS_CONTAINER_AUTHORIZATION_TOKEN"].flatMap { $0.isEmpty ? nil : $0 }
    }

    var isConfigured: Bool { url != nil }

    public func credentials() async throws -> AWSCredentials {
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
