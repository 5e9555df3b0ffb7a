import ArgumentParser
import Foundation
import ShipperCore
import Spool

/// Where the operator commands find the spool: `--storage-path`, else the
/// config's `storage.path`, else the default folder.
struct SpoolLocation: ParsableArguments {
    @Option(name: [.short, .customLong("config")], help: "The shipper's config file (for storage.path and the outputs).")
    var config: String?

    @Option(help: "The folder that holds the spool (overrides storage.path).")
    var storagePath: String?

    /// The config, when one was named or the default one exists.
    func configuration() throws -> ShipperConfiguration? {
        let path = config ?? ConfigOptions.defaultConfigPath
        guard config != nil || FileManager.default.fileExists(atPath: path) else { return nil }
        return try ConfigOptions.load(path)
    }

    var folder: String {
        get throws {
            if let storagePath { return storagePath }
            return try configuration()?.service.storagePath ?? ServiceSettings.defaultStoragePath
        }
    }

    func spoolPath() throws -> String {
        (try folder as NSString).appendingPathComponent(ShipperRuntime.spoolFileName)
    }

    func inspector() throws -> SpoolInspector {
        do {
            return try SpoolInspector(path: try spoolPath())
        } catch {
            FileHandle.standardError.write(Data("\(error)\n".utf8))
            throw ShipperExitCode.unavailable.error
        }
    }
}

/// The record selection shared by `replay` and `spool export`.
struct SelectionOptions: ParsableArguments {
    @Option(help: "Which records: undelivered, delivered (still in the replay window), all, or dead-letters.")
    var source: String = "all"
    @Option(help: "Output, by its name (Alias, else cloudwatch_logs.N), with * wildcards.") var outputName: String?
    @Option(help: "Log group, with * wildcards.") var group: String?
    @Option(help: "Log stream, with * wildcards.") var stream: String?
    @Option(help: "Tag, with * wildcards.") var tag: String?
    @Option(help: "From this time: RFC 3339 (2026-11-26T04:00:00Z) or an age (90m, 2h, 7d).") var since: String?
    @Option(help: "Up to this time: RFC 3339 or an age.") var until: String?

    func selection(now: Date = Date()) throws -> RecordSelection {
        guard let source = RecordSelection.Source(rawValue: source) else {
            throw ValidationError("--source must be one of \(RecordSelection.Source.allCases.map(\.rawValue).joined(separator: ", "))")
        }
        return RecordSelection(source: source, output: outputName, group: group, stream: stream, tag: tag,
                               since: try since.map { try Self.time($0, now: now) }, until: try until.map { try Self.time($0, now: now) })
    }

    /// Nanoseconds since the epoch for an RFC 3339 time or an age before `now`.
    static func time(_ text: String, now: Date) throws -> Int64 {
        let units: [Character: Double] = ["s": 1, "m": 60, "h": 3600, "d": 86_400]
        if let unit = text.last.flatMap({ units[$0] }), let value = Double(text.dropLast()) {
            return Int64((now.timeIntervalSince1970 - value * unit) * 1e9)
        }
        let formatter = ISO8601DateFormatter()
        formatter.formatOptions = [.withInternetDateTime, .withFractionalSeconds]
        if let date = formatter.date(from: text) ?? ISO8601DateFormatter().date(from: text) {
            return Int64(date.timeIntervalSince1970 * 1e9)
        }
        throw ValidationError("\"\(text)\" is neither an RFC 3339 time nor an age such as 90m, 2h or 7d")
    }
}
