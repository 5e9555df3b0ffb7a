import CloudWatchLogs
import Logging

/// Creates a missing log stream, and its group first when the output may,
/// with the group's class, tags and retention: what `DeliveryAction.createDestination`
/// does, for the uploaders and for replay.
struct DestinationCreator: Sendable {
    let client: CloudWatchLogsClient
    let options: LogGroupOptions
    let logger: Logger

    /// Creates `group` (when allowed) and `stream` in it, tolerating others
    /// having created either first. Throws the `CloudWatchError` of the call
    /// that failed, which names it.
    func create(group: String, stream: String) async throws {
        if options.autoCreate {
            do {
                try await client.createLogGroup(group, groupClass: options.groupClass, tags: options.tags)
                logger.info("created log group", metadata: ["log_group": "\(group)"])
                if let days = options.retentionDays {
                    try await client.putRetentionPolicy(group: group, days: days)
                }
            } catch let create as CloudWatchError where create.isAlreadyExists {}
        }
        do {
            try await client.createLogStream(group: group, stream: stream)
            logger.info("created log stream", metadata: ["log_group": "\(group)", "log_stream": "\(stream)"])
        } catch let create as CloudWatchError where create.isAlreadyExists {}
    }
}
