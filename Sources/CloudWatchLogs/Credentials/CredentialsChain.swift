import Foundation
import Logging

/// The AWS SDKs' default credential chain: environment, shared profile files,
/// web identity, ECS container endpoint, EC2 instance metadata, the first
/// that is configured winning. Temporary credentials are cached and renewed
/// five minutes before they expire; a failure is logged once per change of
/// state, never per request.
public actor CredentialsChain: CredentialsProvider {
    public nonisolated let name = "default chain"
    private let providers: [any CredentialsProvider]
    private let logger: Logger
    private var cached: AWSCredentials?
    private var lastState: String?

    public init(environment: [String: String], region: String, logger: Logger) {
        let profile = ProfileCredentialsProvider(environment: environment)
        let webIdentity = WebIdentityCredentialsProvider(environment: environment, region: region)
        let container = ContainerCredentialsProvider(environment: environment)
        let env = EnvironmentCredentialsProvider(environment: environment)
        // The configured sources, in the SDK's order; instance metadata is the last resort.
        var providers: [any CredentialsProvider] = []
        if env.isConfigured { providers.append(env) }
        if profile.isConfigured { providers.append(profile) }
        if webIdentity.isConfigured { providers.append(webIdentity) }
        if container.isConfigured { providers.append(container) }
        providers.append(InstanceMetadataCredentialsProvider(environment: environment))
        self.init(providers: providers, logger: logger)
    }

    init(providers: [any CredentialsProvider], logger: Logger) {
        self.providers = providers
        self.logger = logger
    }

    /// The name of the source that will be asked first, for the start-up log line.
    public nonisolated var firstSource: String { providers.first?.name ?? "none" }

    public func credentials() async throws -> AWSCredentials {
        if let cached, !needsRefresh(cached) { return cached }
        var reasons: [String] = []
        for provider in providers {
            do {
                let fresh = try await provider.credentials()
                cached = fresh
                note("credentials from \(provider.name)", level: .info, metadata: ["expires": "\(fresh.expiration.map { "\($0)" } ?? "never")"])
                return fresh
            } catch {
                reasons.append("\(error)")
            }
        }
        // Keys that have not expired yet are still better than none.
        if let cached, (cached.expiration ?? .distantFuture) > Date() { return cached }
        let failure = CredentialsError(source: name, reason: reasons.joined(separator: "; "))
        note("no AWS credentials: \(failure.reason)", level: .error, metadata: [:])
        throw failure
    }

    /// Forgets the cached keys (after the service rejected them as expired or unknown).
    public func invalidate() {
        cached = nil
    }

    private func needsRefresh(_ credentials: AWSCredentials) -> Bool {
        guard let expiration = credentials.expiration else { return false }
        return expiration.timeIntervalSinceNow < 300
    }

    private func note(_ state: String, level: Logger.Level, metadata: Logger.Metadata) {
        guard state != lastState else { return }
        lastState = state
        logger.log(level: level, "\(state)", metadata: metadata)
    }
}
