import ArgumentParser
import Foundation
import Logging

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

/// Options shared by the commands that read a config file.
struct ConfigOptions: ParsableArguments {
    @Option(name: [.short, .customLong("config")], help: "The Fluent Bit style config file.")
    var config: String = ConfigOptions.defaultConfigPath

    static var defaultConfigPath: String {
        #if os(Windows)
        return "C:\\shipper\\cloudwatch.conf"
        #else
        return "/etc/shipper/cloudwatch.conf"
        #endif
    }

    func load() throws -> ShipperConfiguration {
        try Self.load(config)
    }

    /// Loads a config; an invalid one is reported with its file and line and ends the command with exit code 1.
    static func load(_ path: String) throws -> ShipperConfiguration {
        do {
            return try ShipperConfiguration(file: path)
        } catch let error as ConfigError {
            FileHandle.standardError.write(Data("config error: \(error)\n".utf8))
            throw ExitCode(1)
        }
    }
}

struct RunCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "run",
        abstract: "Receive, spool and ship logs until SIGTERM/SIGINT (Windows: Ctrl-C, close or shutdown)."
    )

    @OptionGroup var options: ConfigOptions

    @Option(help: "Overrides storage.path: the folder that holds the spool.")
    var storagePath: String?

    func run() async throws {
        MemoryArenas.capForThreads()
        ShutdownSignal.ignoreBrokenPipes()
        let configuration = try options.load()
        let level = LineLogHandler.level(fromFluentBit: configuration.service.logLevel)
        LoggingSystem.bootstrap { LineLogHandler(label: $0, level: level) }
        let logger = Logger(label: "shipper")
        for notice in configuration.notices {
            logger.log(level: notice.level == .warning ? .warning : .notice, "\(notice)")
        }
        let runtime = ShipperRuntime(configuration: configuration, storagePath: storagePath ?? configuration.service.storagePath, logger: logger)
        do {
            try await runtime.run()
        } catch {
            logger.critical("cannot run: \(error)")
            throw ExitCode(3)
        }
    }
}

struct CheckConfigCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "check-config",
        abstract: "Validate a config file and print the pipeline it describes."
    )

    @OptionGroup var options: ConfigOptions

    func run() throws {
        let configuration = try options.load()
        for notice in configuration.notices {
            FileHandle.standardError.write(Data("\(notice)\n".utf8))
        }
        print(PipelineDescription(configuration).text)
    }
}
