import Foundation

/// `shipper spool salvage`: copies the undelivered records a damaged spool
/// still holds into the live one, where the shipper delivers them.
///
/// `storage.on_corruption move_aside` keeps a damaged spool under a new name
/// and starts afresh; the records it had acknowledged and not yet delivered
/// are still in that file, mostly readable. This reads the file without
/// writing to it, and copies each readable record that the file's own cursor
/// had not passed, with its destination, time and tag. It runs beside a
/// running shipper: it is one more writer of the live spool through SQLite's
/// locking, and takes no other lock.
public enum SpoolSalvage {
    /// Records per live-spool transaction: short enough that the shipper's
    /// writer, waiting on the busy timeout, hardly notices.
    static let recordsPerTransaction = 500

    /// `owner` names the output of each stream of a damaged spool from before streams belonged to outputs.
    public static func run(damaged path: String, into livePath: String, owner: @escaping LegacyStreamOwner = { _ in .first }) throws -> SalvageReport {
        let canonical = { (file: String) in URL(fileURLWithPath: file).resolvingSymlinksInPath().standardizedFileURL.path }
        guard canonical(path) != canonical(livePath) else { throw SalvageError.sameFile(path: path) }
        let reader = try DamagedSpoolReader(path: path, owner: owner)
        let target = try SalvageTarget(path: livePath)
        var report = SalvageReport(source: path, liveSpool: livePath)
        let streams = try reader.streams()
        report.streamsRead = streams.byID.count
        report.unreadableStreams = streams.unreadable
        report.streamsTableReadable = streams.tableReadable

        let fileName = (path as NSString).lastPathComponent
        var source: (identity: String, copiedThrough: Int64)?
        var pending: [SpoolRecord] = []
        var pendingThrough: Int64 = 0
        let flush = {
            guard let identity = source?.identity, !pending.isEmpty else { return }
            try target.copy(pending, through: pendingThrough, source: identity, fileName: fileName)
            report.copied += pending.count
            pending.removeAll(keepingCapacity: true)
        }
        let unreadable = try reader.records { record in
            report.recordsRead += 1
            // The first readable record names the file: its id and time survive renames and copies.
            let known = try source ?? {
                let identity = "\(record.id)@\(record.timeNanoseconds)"
                let known = (identity, try target.copiedThrough(source: identity))
                report.sourceIdentity = identity
                source = known
                return known
            }()
            guard let stream = streams.byID[record.streamID] else {
                report.unknownStream.add(record.id)
                return
            }
            guard record.id > stream.deliveredThrough else {
                report.alreadyDelivered += 1
                return
            }
            guard let message = record.message else {
                report.missingShape.add(record.id)
                return
            }
            guard record.id > known.copiedThrough else {
                report.alreadySalvaged += 1
                return
            }
            pending.append(SpoolRecord(output: stream.output, logGroup: stream.logGroup, logStream: stream.logStream, tag: record.tag,
                                       timeNanoseconds: record.timeNanoseconds, message: message))
            pendingThrough = record.id
            if pending.count == recordsPerTransaction { try flush() }
        }
        try flush()
        report.unreadableRecords = unreadable.ids
        report.unreadableFrom = unreadable.from
        report.streamsCopiedTo = target.streamsUsed.count
        return report
    }
}
