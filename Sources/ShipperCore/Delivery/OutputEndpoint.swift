import CloudWatchLogs
import Foundation
import Logging
import Spool

/// One `[OUTPUT]` as delivery and replay send to it: its settings and a
/// client of its own, for its region, endpoint, TLS setting and credentials.
/// Records never go out through another output's client, so an output for
/// another region or account signs and sends with its own.
public struct OutputEndpoint: Sendable {
    public let settings: CloudWatchOutputSettings
    public let client: CloudWatchLogsClient

    public var output: SpoolOutput { settings.output }

    /// One per output, in the config's order (an output's index is its place here).
    /// Each region gets its own credentials chain (web identity and STS are
    /// regional), shared by the outputs of that region: the chain caches and
    /// renews what it fetched, so one per region fetches no more than needed.
    public static func make(_ outputs: [CloudWatchOutputSettings], environment: [String: String], logger: Logger) throws -> [OutputEndpoint] {
        var chains: [String: CredentialsChain] = [:]
        return try outputs.map { settings in
            let chain = chains[settings.region] ?? {
                let chain = CredentialsChain(environment: environment, region: settings.region, logger: logger)
                let names = outputs.filter { $0.region == settings.region }.map(\.output.name).joined(separator: ", ")
                logger.info("AWS credentials will come from \(chain.firstSource)", metadata: ["region": "\(settings.region)", "outputs": "\(names)"])
                chains[settings.region] = chain
                return chain
            }()
            let client = try CloudWatchLogsClient(endpoint: settings.endpoint, region: settings.region, credentials: chain, verifyTLS: settings.verifyTLS)
            return OutputEndpoint(settings: settings, client: client)
        }
    }
}
