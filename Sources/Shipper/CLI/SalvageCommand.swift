import ArgumentParser
import Foundation
import ShipperCore
import Spool

/// `shipper spool salvage FILE`: the way back for the records of a spool that
/// `storage.on_corruption move_aside` put aside.
struct SalvageCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "salvage",
        abstract: "Copy the undelivered records of a damaged or moved-aside spool into the live spool.",
        discussion: """
            Reads FILE without writing to it, around any pages SQLite cannot read, and copies each \
            record FILE had not delivered into the live spool (once: a second run copies nothing), \
            where the shipper delivers it. Safe while the shipper runs.
            Exit codes: \(Outcome.allCases.map { "\($0.exitCode.rawValue) \($0.meaning)" }.joined(separator: "; ")).
            """)

    /// How a salvage can end, each with its exit code.
    enum Outcome: CaseIterable {
        case complete
        case liveSpoolFailed
        case partlyUnreadable
        case notASpool

        var exitCode: ShipperExitCode {
            switch self {
            case .complete: return .success
            case .liveSpoolFailed: return .unavailable
            case .partlyUnreadable: return .incomplete
            case .notASpool: return .notASpool
            }
        }

        var meaning: String {
            switch self {
            case .complete: return "every record of FILE was read and accounted for"
            case .liveSpoolFailed: return "the live spool could not be opened or written (what was copied stays copied; run again to go on)"
            case .partlyUnreadable: return "done, but parts of FILE could not be read (the report lists them)"
            case .notASpool: return "FILE is not a spool SQLite can read at all"
            }
        }
    }

    @Argument(help: "The damaged spool, such as shipper.sqlite.corrupt-2026-12-01T101500Z.") var file: String
    @OptionGroup var location: SpoolLocation
    @Flag(help: "JSON for scripts.") var json = false

    func run() throws {
        let report: SalvageReport
        do {
            // A damaged spool from before streams belonged to outputs: each stream to the output delivery would give it.
            let outputs = try location.configuration()?.outputs ?? []
            report = try SpoolSalvage.run(damaged: file, into: try location.spoolPath(), owner: LegacyStreamOwnership.rule(for: outputs))
        } catch let error as SalvageError {
            FileHandle.standardError.write(Data("\(error)\n".utf8))
            if case .notASpool = error { throw Outcome.notASpool.exitCode.error }
            throw Outcome.liveSpoolFailed.exitCode.error
        } catch {
            FileHandle.standardError.write(Data("salvage stopped: \(error)\nRecords copied so far are remembered: run it again to go on.\n".utf8))
            throw Outcome.liveSpoolFailed.exitCode.error
        }
        if json {
            let encoder = JSONEncoder()
            encoder.outputFormatting = [.sortedKeys]
            print(String(decoding: try encoder.encode(report), as: UTF8.self))
        } else {
            print(Self.text(report))
        }
        if !report.isComplete { throw Outcome.partlyUnreadable.exitCode.error }
    }

    static func text(_ report: SalvageReport) -> String {
        var lines = [
            "salvaged \(report.source) into \(report.liveSpool)",
            "records read:         \(report.recordsRead)",
            "copied:               \(report.copied) (into \(report.streamsCopiedTo) streams; the shipper delivers them)",
            "already delivered:    \(report.alreadyDelivered)",
            "already salvaged:     \(report.alreadySalvaged)",
            "unreadable ids:       \(report.unreadableRecords.count) (\(report.unreadableRecords))",
            "streams read:         \(report.streamsRead)",
        ]
        if let from = report.unreadableFrom {
            lines.append("the end of the records table could not be read: nothing from id \(from) on was read, how many records there were is unknown")
        }
        if !report.streamsTableReadable { lines.append("the streams table could not be read: no record has a known destination") }
        if !report.unreadableStreams.isEmpty { lines.append("unreadable stream ids: \(report.unreadableStreams)") }
        if !report.unknownStream.isEmpty {
            lines.append("not copied, stream unknown: \(report.unknownStream.count) (\(report.unknownStream))")
        }
        if !report.missingShape.isEmpty {
            lines.append("not copied, shape missing:  \(report.missingShape.count) (\(report.missingShape))")
        }
        if !report.unreadableRecords.isEmpty {
            lines.append("unreadable ids may include ids that never held a record; SQLite cannot tell a lost page from a gap")
        }
        return lines.joined(separator: "\n")
    }
}
