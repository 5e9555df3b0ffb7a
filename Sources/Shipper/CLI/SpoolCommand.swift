import ArgumentParser
import Foundation

/// `shipper spool stats|export|vacuum|salvage`.
struct SpoolCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "spool",
        abstract: "Look into the spool: its size and counts, an NDJSON export, reclaiming space, or salvaging a damaged one.",
        subcommands: [Stats.self, Export.self, Vacuum.self, SalvageCommand.self]
    )

    struct Stats: ParsableCommand {
        static let configuration = CommandConfiguration(abstract: "File and WAL size, records, backlog and dead letters.")
        @OptionGroup var location: SpoolLocation
        @Flag(help: "JSON for scripts.") var json = false

        func run() throws {
            let stats = try location.inspector().statistics()
            if json {
                let encoder = JSONEncoder()
                encoder.outputFormatting = [.sortedKeys]
                print(String(decoding: try encoder.encode(stats), as: UTF8.self))
                return
            }
            print("spool:        \(try location.spoolPath())")
            print("file:         \(ByteCount(stats.fileBytes)) (live pages \(ByteCount(stats.usedBytes)))")
            print("WAL:          \(ByteCount(stats.walBytes))")
            print("records:      \(stats.records) (\(stats.undeliveredRecords) undelivered, \(stats.records - stats.undeliveredRecords) delivered and kept for replays)")
            print("dead letters: \(stats.deadLetters)")
            print("streams:      \(stats.streams)")
        }
    }

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

    struct Vacuum: ParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Give the space of removed records back to the disk.",
            discussion: "Rewrites the whole file; run it while the shipper is stopped. Exit code 3 if the spool is busy or unreadable.")
        @OptionGroup var location: SpoolLocation

        func run() throws {
            let inspector = try location.inspector()
            let before = try inspector.statistics().fileBytes
            do {
                try inspector.vacuum()
            } catch {
                FileHandle.standardError.write(Data("vacuum failed (is the shipper running?): \(error)\n".utf8))
                throw ShipperExitCode.unavailable.error
            }
            let after = try inspector.statistics().fileBytes
            print("vacuumed \(try location.spoolPath()): \(ByteCount(before)) -> \(ByteCount(after))")
        }
    }
}

/// A byte count for people: 1.5 MiB.
struct ByteCount: CustomStringConvertible {
    let bytes: Int64
    init(_ bytes: Int64) { self.bytes = bytes }
    init(_ bytes: Int) { self.bytes = Int64(bytes) }

    var description: String {
        let units = ["B", "KiB", "MiB", "GiB", "TiB"]
        var value = Double(bytes)
        var unit = 0
        while value >= 1024 && unit < units.count - 1 {
            value /= 1024
            unit += 1
        }
        return unit == 0 ? "\(bytes) B" : String(format: "%.1f %@", value, units[unit])
    }
}
