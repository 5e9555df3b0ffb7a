import ArgumentParser

/// The `shipper` executable: `shipper -c FILE` runs it, like `fluent-bit -c FILE`.
@main
struct ShipperCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "shipper",
        abstract: "A durable, disk-buffered log shipper: Fluentd Forward protocol in, CloudWatch Logs out.",
        discussion: """
            Exit codes: 0 after a clean shutdown or a valid config, 1 when the config is invalid, \
            64 for a usage error, 3 when the shipper could not start (port in use, spool unreadable), \
            2 when a second SIGTERM/SIGINT (or console event) ended it without waiting.
            """,
        subcommands: [RunCommand.self, CheckConfigCommand.self, StatusCommand.self, ReplayCommand.self, SpoolCommand.self, CatCommand.self],
        defaultSubcommand: RunCommand.self
    )
}
