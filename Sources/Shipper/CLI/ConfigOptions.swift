import ArgumentParser
import Foundation
import ShipperCore

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
            throw ShipperExitCode.invalidConfig.error
        }
    }
}
