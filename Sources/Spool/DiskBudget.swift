import Foundation

/// The spool's share of its filesystem: the reserve below which intake
/// pauses, and the headroom file that keeps delivery's bookkeeping working
/// when the disk fills anyway.
///
/// Intake pauses while the space the spool could still grow into (free bytes
/// on the filesystem, plus the database's own free pages, which SQLite reuses
/// first) is below `storage.disk_reserve`, so SQLite should never see ENOSPC
/// from ingest. Other programs share the disk, though, and can fill it. Then
/// the writes that let the spool shrink again (advancing a cursor, writing a
/// dead letter, deleting delivered rows, checkpointing) must still succeed:
/// `<spool>.headroom` is a file of `headroomBytes` made while there is room,
/// deleted the moment such a write fails with SQLITE_FULL so the write can be
/// retried, and made again once there is room above the reserve.
// Safe to share: `lock` guards `headroomHeld` and `lastAvailable`.
final class DiskBudget: @unchecked Sendable {
    let reserveBytes: Int64
    let headroomBytes: Int64
    let headroomPath: String
    private let directory: String
    private let lock = NSLock()
    private var headroomHeld = false
    private var lastAvailable: Int64?
    /// The filesystem's free bytes when last asked, and when (monotonic nanoseconds).
    private var lastFree: (bytes: Int64, at: UInt64)?

    /// How long a reading of the filesystem is reused while the spool is far
    /// from its reserve: the writer asks after every commit, and thousands of
    /// statvfs calls a second would buy nothing. Close to the reserve it asks every time.
    static let readingLifetimeNanoseconds: UInt64 = 20_000_000
    static let farFromReserveBytes: Int64 = 64 << 20

    init(spoolPath: String, reserveBytes: Int64, headroomBytes: Int64) {
        self.reserveBytes = reserveBytes
        self.headroomBytes = headroomBytes
        headroomPath = spoolPath + ".headroom"
        directory = (spoolPath as NSString).deletingLastPathComponent.isEmpty ? "." : (spoolPath as NSString).deletingLastPathComponent
        let existing = (try? FileManager.default.attributesOfItem(atPath: headroomPath)[.size] as? Int64) ?? nil
        headroomHeld = existing == headroomBytes
        // A file of another size (a crash while making it, another headroomBytes) is made anew.
        if existing != nil && !headroomHeld { try? FileManager.default.removeItem(atPath: headroomPath) }
        restoreHeadroomIfRoom()
    }

    /// Intake resumes this far above the reserve, so it does not flap at the line.
    var resumeMargin: Int64 { max(reserveBytes / 8, 1 << 20) }

    /// Bytes the spool can still grow by, given the database's free pages: the
    /// filesystem's free space, less the headroom while it is not held (that
    /// space is owed to bookkeeping, not to intake). Nil if the OS cannot tell.
    func available(databaseFreeBytes: Int64) -> Int64? {
        let now = DispatchTime.now().uptimeNanoseconds
        lock.lock()
        let recent = lastFree.flatMap { reading -> Int64? in
            let fresh = now &- reading.at < Self.readingLifetimeNanoseconds
            return fresh && reading.bytes - headroomBytes > reserveBytes + Self.farFromReserveBytes ? reading.bytes : nil
        }
        lock.unlock()
        guard let free = recent ?? DiskSpace.availableBytes(in: directory) else { return nil }
        lock.lock()
        defer { lock.unlock() }
        if recent == nil { lastFree = (free, now) }
        let owed = headroomHeld ? 0 : headroomBytes
        let available = free + databaseFreeBytes - owed
        lastAvailable = available
        return available
    }

    /// The last figure `available` computed, for log lines and metrics.
    var lastAvailableBytes: Int64? {
        lock.lock()
        defer { lock.unlock() }
        return lastAvailable
    }

    var isHeadroomHeld: Bool {
        lock.lock()
        defer { lock.unlock() }
        return headroomHeld
    }

    /// Deletes the headroom file so a bookkeeping write can have its space;
    /// true if there was one to delete (the write is then worth retrying).
    func releaseHeadroom() -> Bool {
        lock.lock()
        defer { lock.unlock() }
        guard headroomHeld else { return false }
        headroomHeld = false
        lastFree = nil
        try? FileManager.default.removeItem(atPath: headroomPath)
        return true
    }

    /// Makes the headroom file again once the filesystem has room for it above the reserve.
    func restoreHeadroomIfRoom() {
        guard headroomBytes > 0, !isHeadroomHeld,
              let free = DiskSpace.availableBytes(in: directory), free >= reserveBytes + headroomBytes else { return }
        // Written, not sparse: every byte is really allocated, so deleting it really frees them.
        // Beside it first, then renamed: a crash never leaves a headroom of the wrong size.
        let making = headroomPath + ".new"
        do {
            try Data(count: Int(headroomBytes)).write(to: URL(fileURLWithPath: making))
            try? FileManager.default.removeItem(atPath: headroomPath)
            try FileManager.default.moveItem(atPath: making, toPath: headroomPath)
            lock.lock()
            headroomHeld = true
            lock.unlock()
        } catch {
            try? FileManager.default.removeItem(atPath: making)
        }
    }
}
