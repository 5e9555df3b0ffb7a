import Foundation

/// `AWS_WEB_IDENTITY_TOKEN_FILE` + `AWS_ROLE_ARN`: the role assumed with STS
/// `AssumeRoleWithWebIdentity` (an unsigned call), as on EKS with IRSA.
/// STS is `https://sts.<region>.amazonaws.com` unless `AWS_ENDPOINT_URL_STS`
/// or `AWS_ENDPOINT_URL` says otherwise.
public struct WebIdentityCredentialsProvider: CredentialsProvider {
    public let name = "web identity"
    let tokenFile: String?
    let roleARN: String?
    let sessionName: String
    let endpoint: URL?

    public init(environment: [String: String], region: String) {
        tokenFile = environment["AWS_WEB_IDENTITY_TOKEN_FILE"].flatMap { $0.isEmpty ? nil : $0 }
        roleARN = environment["AWS_ROLE_ARN"].flatMap { $0.isEmpty ? nil : $0 }
        sessionName = environment["AWS_ROLE_SESSION_NAME"].flatMap { $0.isEmpty ? nil : $0 } ?? "shipper-\(Int(Date().timeIntervalSince1970))"
        let override = environment["AWS_ENDPOINT_URL_STS"] ?? environment["AWS_ENDPOINT_URL"]
        endpoint = URL(string: override.flatMap { $0.isEmpty ? nil : $0 } ?? "https://sts.\(region).amazonaws.com/")
    }

    var isConfigured: Bool { tokenFile != nil && roleARN != nil }

    public func credentials() async throws -> AWSCredentials {
        guard let tokenFile, let roleARN, let endpoint else {
            throw CredentialsError(source: name, reason: "AWS_WEB_IDENTITY_TOKEN_FILE and AWS_ROLE_ARN must both be set")
        }
        guard let token = try? String(contentsOfFile: tokenFile, encoding: .utf8) else {
            throw CredentialsError(source: name, reason: "cannot read AWS_WEB_IDENTITY_TOKEN_FILE \(tokenFile)")
        }
        var form = URLComponents()
        form.queryItems = [
            URLQueryItem(name: "Action", value: "AssumeRoleWithWebIdentity"),
            URLQueryItem(name: "Version", value: "2011-06-15"),
            URLQueryItem(name: "RoleArn", value: roleARN),
            URLQueryItem(name: "RoleSessionName", value: sessionName),
            URLQueryItem(name: "WebIdentityToken", value: token.trimmingCharacters(in: .whitespacesAndNewlines)),
        ]
        let body = Data((form.percentEncodedQuery ?? "").replacingOccurrences(of: "+", with: "%2B").utf8)
        let data = try await CredentialsHTTP.request(endpoint, method: "POST", headers: ["Content-Type": "application/x-www-form-urlencoded"], body: body, source: name)
        let xml = String(decoding: data, as: UTF8.self)
        guard let key = Self.element("AccessKeyId", in: xml), let secret = Self.element("SecretAccessKey", in: xml) else {
            throw CredentialsError(source: name, reason: "STS answered without credentials: \(xml.prefix(200))")
        }
        return AWSCredentials(accessKeyID: key, secretAccessKey: secret, sessionToken: Self.element("SessionToken", in: xml),
                              expiration: Self.element("Expiration", in: xml).flatMap(CredentialsHTTP.parseTime))
    }

    /// The text of the first `<name>…</name>` in STS's small XML answer.
    static func element(_ name: String, in xml: String) -> String? {
        guard let start = xml.range(of: "<\(name)>"), let end = xml.range(of: "</\(name)>", range: start.upperBound..<xml.endIndex) else { return nil }
        return String(xml[start.upperBound..<end.lowerBound]).trimmingCharacters(in: .whitespacesAndNewlines)
    }
}
