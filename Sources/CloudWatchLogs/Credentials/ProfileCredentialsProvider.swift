import Foundation

/// Keys from the shared files the AWS CLI writes: `~/.aws/credentials` and
/// `~/.aws/config` (or `AWS_SHARED_CREDENTIALS_FILE` / `AWS_CONFIG_FILE`), for
/// the profile `AWS_PROFILE` names (`default` otherwise).
public struct ProfileCredentialsProvider: CredentialsProvider {
    public var name: String { "profile \(profile)" }
    let profile: String
    let credentialsFile: String
    let configFile: String

    public init(environment: [String: String]) {
        let home = environment["HOME"] ?? environment["USERPROFILE"] ?? NSHomeDirectory()
        profile = environment["AWS_PROFILE"].flatMap { $0.isEmpty ? nil : $0 } ?? "default"
        credentialsFile = environment["AWS_SHARED_CREDENTIALS_FILE"] ?? (home as NSString).appendingPathComponent(".aws/credentials")
        configFile = environment["AWS_CONFIG_FILE"] ?? (home as NSString).appendingPathComponent(".aws/config")
    }

    /// Whether either file has a section for the profile.
    var isConfigured: Bool {
        (try? keys()) != nil
    }

    public func credentials() async throws -> AWSCredentials {
        guard let values = try keys() else {
            throw CredentialsError(source: name, reason: "no [\(profile)] keys in \(credentialsFile) or \(configFile)")
        }
        guard let key = values["aws_access_key_id"], let secret = values["aws_secret_access_key"] else {
            throw CredentialsError(source: name, reason: "the profile lacks aws_access_key_id or aws_secret_access_key")
        }
        return AWSCredentials(accessKeyID: key, secretAccessKey: secret, sessionToken: values["aws_session_token"])
    }

    /// The profile's keys: the credentials file wins over the config file, as in the SDKs.
    private func keys() throws -> [String: String]? {
        let fromCredentials = Self.section(profile, in: credentialsFile)
        let fromConfig = Self.section(profile == "default" ? "default" : "profile \(profile)", in: configFile)
        guard fromCredentials != nil || fromConfig != nil else { return nil }
        let merged = (fromConfig ?? [:]).merging(fromCredentials ?? [:]) { $1 }
        return merged["aws_access_key_id"] == nil ? nil : merged
    }

    /// The `key = value` lines of `[name]` in an INI file.
    static func section(_ name: String, in path: String) -> [String: String]? {
        guard let text = try? String(contentsOfFile: path, encoding: .utf8) else { return nil }
        var current: String?
        var values: [String: String]?
        for raw in text.split(whereSeparator: \.isNewline) {
            let line = raw.trimmingCharacters(in: .whitespaces)
            if line.isEmpty || line.hasPrefix("#") || line.hasPrefix(";") { continue }
            if line.hasPrefix("[") && line.hasSuffix("]") {
                current = line.dropFirst().dropLast().trimmingCharacters(in: .whitespaces)
                if current == name && values == nil { values = [:] }
                continue
            }
            guard current == name, let equals = line.firstIndex(of: "=") else { continue }
            let key = line[..<equals].trimmingCharacters(in: .whitespaces).lowercased()
            values?[key] = line[line.index(after: equals)...].trimmingCharacters(in: .whitespaces)
        }
        return values
    }
}
