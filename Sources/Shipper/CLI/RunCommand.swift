import ArgumentParser
import Logging
import ShipperCore

/// `shipper run` (the default command): the shipper itself.
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
            try await runtime.run { await ShutdownSignal.wait(logger: logger) }
        } catch {
            logger.critical("cannot run: \(error)")
            throw ShipperExitCode.unavailable.error
        }
    }
}
