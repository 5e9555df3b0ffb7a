import ArgumentParser
import Foundation

/// `shipper spool vacuum`: the space of removed records given back to the disk.
extension SpoolCommand {
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
