import ArgumentParser
import Foundation

/// `shipper spool stats`: the spool's file and WAL size, its records, backlog and dead letters.
extension SpoolCommand {
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
}
