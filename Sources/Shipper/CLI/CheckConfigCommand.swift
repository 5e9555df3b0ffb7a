import ArgumentParser
import Foundation

/// `shipper check-config`: what an operator runs on a config before deploying it.
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
