import Foundation
import Logging

/// What to do with a spool that cannot be read.
public enum SpoolCorruptionPolicy: String, Sendable, CaseIterable {
    /// Rename it with a timestamp, log an error and start a fresh spool (the default: keep logging).
    case moveAside = "move_aside"
    /// Refuse to start, so an operator can look at it first.
    case stop
}

/// Opening the spool file: creation with owner-only permissions, WAL mode,
/// schema, and what happens when the file is damaged.
///
/// A normal start reads only the header and schema, so it costs the same for
/// ten records or ten million. A full `PRAGMA quick_check` runs at start only
/// when a previous run found a problem and left the `.check` marker.
enum SpoolFile {
    /// `owner` names the output of each stream of a file from before streams belonged to outputs.
    static func open(path: String, sync: SpoolSyncMode, onCorruption: SpoolCorruptionPolicy, owner: LegacyStreamOwner, logger: Logger) throws -> SQLiteDatabase {
        do {
            return try openVerified(path: path, sync: sync, fullCheck: FileManager.default.fileExists(atPath: markerPath(path)), owner: owner, logger: logger)
        } catch let error as SQLiteError where error.isCorruption {
            guard onCorruption == .moveAside else {
                throw SpoolError.corrupt(path: path, reason: error.description)
            }
            let aside = try moveAside(path)
            logger.error("spool is damaged; moved it aside and started a fresh one. Run `shipper spool salvage \(aside)` to recover its undelivered records",
                         metadata: ["path": "\(path)", "moved_to": "\(aside)", "error": "\(error)"])
            return try openVerified(path: path, sync: sync, fullCheck: false, owner: owner, logger: logger)
        }
    }

    /// The marker that asks the next start for a full integrity check.
    static func markerPath(_ path: String) -> String { path + ".check" }

    private static func openVerified(path: String, sync: SpoolSyncMode, fullCheck: Bool, owner: LegacyStreamOwner, logger: Logger) throws -> SQLiteDatabase {
        try OwnerOnlyFile.create(at: path)
        // The writer's connection: under FULL every commit syncs the WAL, which lets its writes be gathered.
        let database = sync == .full ? try SQLiteDatabase(syncingEveryCommit: path) : try SQLiteDatabase(path: path)
        try database.execute("PRAGMA journal_mode = WAL")
        try database.execute("PRAGMA synchronous = \(sync == .full ? "FULL" : "NORMAL")")
        try database.execute("PRAGMA journal_size_limit = \(64 << 20)")
        // The writer checkpoints between its own transactions, so the WAL restarts and stays bounded
        // under a continuous writer; 4096 pages (16 MiB) keeps checkpoints few and large.
        try database.execute("PRAGMA wal_autocheckpoint = 4096")
        let version = try database.integer("PRAGMA user_version")
        guard version >= 0 && version <= SpoolSchema.version else {
            throw SpoolError.unsupportedVersion(path: path, version: version)
        }
        let steps = version > 0 ? (version..<SpoolSchema.version).compactMap { SpoolSchema.upgrades[$0] } : []
        if !steps.isEmpty {
            // A backfill reads every record once: on a large spool the start takes that long, once.
            logger.notice("upgrading the spool's format in place", metadata: [
                "path": "\(path)", "from": "\(version)", "to": "\(SpoolSchema.version)", "steps": "\(steps.map(\.name).joined(separator: ", "))"])
        }
        let assigned = try database.transaction { () -> [SpoolOutput: Int] in
            for step in steps {
                for statement in step.changes { try database.execute(statement) }
            }
            for statement in SpoolSchema.statements { try database.execute(statement) }
            for step in steps {
                for statement in step.backfill { try database.execute(statement) }
            }
            let assigned = version > 0 && version < SpoolSchema.streamOutputsVersion ? try LegacyStreamAssignment.assign(database, owner: owner) : [:]
            try database.execute("PRAGMA user_version = \(SpoolSchema.version)")
            return assigned
        }
        if version > 0 && version < SpoolSchema.streamOutputsVersion {
            let summary = assigned.sorted { $0.key.index < $1.key.index }.map { "\($0.value) to \($0.key.name) (output \($0.key.index))" }
            logger.notice("spool streams assigned to the outputs that send them", metadata: [
                "path": "\(path)", "streams": "\(assigned.values.reduce(0, +))", "assigned": "\(summary.isEmpty ? "none" : summary.joined(separator: ", "))"])
        }
        // Touch the newest record so a truncated or garbled file fails here, not on the first read.
        _ = try database.integer("SELECT coalesce(max(id), 0) + count(*) FROM (SELECT id FROM records ORDER BY id DESC LIMIT 1)")
        if fullCheck {
            let statement = try database.prepare("PRAGMA quick_check")
            let answer = try statement.step() ? statement.text(0) : "no answer"
            guard answer == "ok" else { throw SQLiteError(code: 11, message: "quick_check: \(answer)", context: "checking \(path)") }
            try? FileManager.default.removeItem(atPath: markerPath(path))
        }
        return database
    }

    /// Renames the database and its WAL and shared-memory files to `<name>.corrupt-<UTC time>`.
    private static func moveAside(_ path: String) throws -> String {
        let stamp = ISO8601DateFormatter().string(from: Date()).replacingOccurrences(of: ":", with: "")
        let target = "\(path).corrupt-\(stamp)"
        for suffix in ["", "-wal", "-shm"] where FileManager.default.fileExists(atPath: path + suffix) {
            try FileManager.default.moveItem(atPath: path + suffix, toPath: target + suffix)
        }
        try? FileManager.default.removeItem(atPath: markerPath(path))
        return target
    }
}

extension SQLiteError {
    /// The file is not a database, or its pages do not hold together.
    var isCorruption: Bool { code & 0xff == 11 || code & 0xff == 26 }
}
