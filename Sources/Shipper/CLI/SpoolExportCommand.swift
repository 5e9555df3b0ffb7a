import ArgumentParser
import Foundation

/// `shipper spool export`: selected records as NDJSON.
extension SpoolCommand {
    struct Export: ParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Write selected records as NDJSON to standard output or a file.")
        @OptionGroup var location: SpoolLocation
        @OptionGroup var selection: SelectionOptions
        @Option(help: "Write here instead of standard output.") var output: String?

        func run() throws {
            let inspector = try location.inspector()
            let chosen = try selection.selection()
            let writer = try NDJSONWriter(path: output)
            var total = 0
            try inspector.forEachPage(chosen) { page in
                writer.write(page)
                total += page.count
            }
            FileHandle.standardError.write(Data("exported \(total) records\n".utf8))
        }
    }
}
