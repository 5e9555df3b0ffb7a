import CSQLite

/// A SQLite VFS over the platform's own (unix, or win32 on Windows) that
/// gathers the writes of a WAL file into one buffer and hands them down as
/// one write, at the latest when SQLite syncs the file.
///
/// SQLite writes each WAL frame as two calls, its 24-byte header and then its
/// page, so that a commit of 50 pages made 100 `pwrite` calls, each of which
/// touched one or two pages of the kernel's cache. With a log stream per
/// container, every commit changes a page per stream, and those calls were a
/// quarter of the spool writer's time.
///
/// Why this keeps every promise SQLite makes, for a connection that runs
/// `PRAGMA synchronous = FULL` (the only kind that may use it):
/// - Nothing is acknowledged before a commit is durable, and a commit is
///   durable once the WAL is synced: the buffer is written before every sync.
/// - Other connections read only frames of committed transactions, and under
///   FULL SQLite syncs a commit's frames before it publishes them in the
///   WAL index; so the buffer is empty whenever another connection can look.
///   (Under NORMAL it would not be, which is why only FULL connections use this.)
/// - A transaction that rolls back leaves the frames it spilled in the buffer;
///   they are dropped when the connection lets go of the WAL's write lock
///   (on the database file: `xShmLock` of lock 0), before any other connection
///   can take it and write its own frames over the same bytes of the file. A
///   commit has written the buffer at its sync by then, so only dead frames go.
/// - The connection itself may read back frames it has written (a page spilled
///   from its cache, the checksums of frames it rewrites): a read that meets
///   the buffer writes it first, as do the size, truncation, mapping and close.
/// - A frame rewritten in place lands in the buffer if it is there, else the
///   buffer is written first; writes never pass each other on the same bytes.
/// An error writing the buffer is the error of the call that wrote it, as the
/// platform VFS reports it (`SQLITE_FULL` for a full disk).
enum CoalescedWALWrites {
    /// The name the spool writer's connection opens the file with (`SQLiteDatabase(syncingEveryCommit:)`).
    static let vfsName = "shipper-coalesced-wal"

    /// Writes are gathered up to this many bytes, 31 frames of 4 KiB pages; a
    /// larger commit is written in pieces of this size. SQLite's unix VFS takes
    /// at most 128 KiB less a byte in one call (it masks the length with 0x1ffff).
    static let bufferCapacity = 0x1ffff

    /// Registered once, before the first connection that names it.
    static let isRegistered: Bool = {
        guard let base = platformVFS else { return false }
        let vfs = UnsafeMutablePointer<sqlite3_vfs>.allocate(capacity: 1)
        vfs.initialize(to: sqlite3_vfs(
            iVersion: min(base.pointee.iVersion, 3),
            szOsFile: Int32(fileHeaderSize) + base.pointee.szOsFile,
            mxPathname: base.pointee.mxPathname,
            pNext: nil,
            zName: vfsNameCString,
            pAppData: nil,
            xOpen: { _, name, file, flags, outFlags in CoalescedWALWrites.openFile(name, file!, flags, outFlags) },
            xDelete: { _, name, syncDirectory in platformVFS!.pointee.xDelete!(platformVFS, name, syncDirectory) },
            xAccess: { _, name, flags, result in platformVFS!.pointee.xAccess!(platformVFS, name, flags, result) },
            xFullPathname: { _, name, size, output in platformVFS!.pointee.xFullPathname!(platformVFS, name, size, output) },
            // Extension loading is absent from some builds (its functions nil): then nothing loads, as there.
            xDlOpen: { _, name in platformVFS!.pointee.xDlOpen?(platformVFS, name) },
            xDlError: { _, size, message in _ = platformVFS!.pointee.xDlError?(platformVFS, size, message) },
            xDlSym: { _, handle, symbol in platformVFS!.pointee.xDlSym?(platformVFS, handle, symbol) ?? nil },
            xDlClose: { _, handle in _ = platformVFS!.pointee.xDlClose?(platformVFS, handle) },
            xRandomness: { _, size, output in platformVFS!.pointee.xRandomness!(platformVFS, size, output) },
            xSleep: { _, microseconds in platformVFS!.pointee.xSleep!(platformVFS, microseconds) },
            xCurrentTime: { _, time in platformVFS!.pointee.xCurrentTime!(platformVFS, time) },
            xGetLastError: { _, size, message in platformVFS!.pointee.xGetLastError!(platformVFS, size, message) },
            xCurrentTimeInt64: { _, time in platformVFS!.pointee.xCurrentTimeInt64!(platformVFS, time) },
            xSetSystemCall: { _, name, call in platformVFS!.pointee.xSetSystemCall!(platformVFS, name, call) },
            xGetSystemCall: { _, name in platformVFS!.pointee.xGetSystemCall!(platformVFS, name) },
            xNextSystemCall: { _, name in platformVFS!.pointee.xNextSystemCall!(platformVFS, name) }))
        return sqlite3_vfs_register(vfs, 0) == SQLITE_OK
    }()

    // Set once, before registration, and only read after.
    nonisolated(unsafe) private static let platformVFS: UnsafeMutablePointer<sqlite3_vfs>? = sqlite3_vfs_find(nil)
    nonisolated(unsafe) private static let vfsNameCString: UnsafePointer<CChar> = {
        let bytes = Array(vfsName.utf8CString)
        let copy = UnsafeMutablePointer<CChar>.allocate(capacity: bytes.count)
        copy.initialize(from: bytes, count: bytes.count)
        return UnsafePointer(copy)
    }()

    /// Our file: SQLite's `sqlite3_file` (its methods), the buffer of a WAL file
    /// (nil for any other file), the buffer of a database file's WAL (the one its
    /// write lock guards; nil for any other file), then the platform VFS's own file object.
    private static let bufferSlotOffset = MemoryLayout<sqlite3_file>.stride
    private static let walBufferSlotOffset = bufferSlotOffset + MemoryLayout<UnsafeMutableRawPointer?>.stride
    private static let fileHeaderSize = (walBufferSlotOffset + MemoryLayout<UnsafeMutableRawPointer?>.stride + 15) & ~15

    /// SQLite's WAL write lock: the first of the locks on a database file's shared memory (`WAL_WRITE_LOCK` in wal.c).
    private static let walWriteLock: Int32 = 0

    private static func inner(_ file: UnsafeMutablePointer<sqlite3_file>) -> UnsafeMutablePointer<sqlite3_file> {
        (UnsafeMutableRawPointer(file) + fileHeaderSize).assumingMemoryBound(to: sqlite3_file.self)
    }

    private static func bufferSlot(_ file: UnsafeMutablePointer<sqlite3_file>) -> UnsafeMutablePointer<UnsafeMutableRawPointer?> {
        (UnsafeMutableRawPointer(file) + bufferSlotOffset).assumingMemoryBound(to: UnsafeMutableRawPointer?.self)
    }

    private static func walBufferSlot(_ file: UnsafeMutablePointer<sqlite3_file>) -> UnsafeMutablePointer<UnsafeMutableRawPointer?> {
        (UnsafeMutableRawPointer(file) + walBufferSlotOffset).assumingMemoryBound(to: UnsafeMutableRawPointer?.self)
    }

    private static func buffer(_ file: UnsafeMutablePointer<sqlite3_file>?) -> WriteBuffer? {
        guard let file, let pointer = bufferSlot(file).pointee else { return nil }
        return Unmanaged<WriteBuffer>.fromOpaque(pointer).takeUnretainedValue()
    }

    /// Breaks the link between a database file and its WAL's buffer (either closes first).
    private static func detach(_ buffer: WriteBuffer) {
        guard let database = buffer.database else { return }
        if let pointer = walBufferSlot(database).pointee {
            Unmanaged<WriteBuffer>.fromOpaque(pointer).release()
            walBufferSlot(database).pointee = nil
        }
        buffer.database = nil
    }

    private static func innerMethods(_ file: UnsafeMutablePointer<sqlite3_file>?) -> sqlite3_io_methods {
        inner(file!).pointee.pMethods!.pointee
    }

    fileprivate static func openFile(_ name: sqlite3_filename?, _ file: UnsafeMutablePointer<sqlite3_file>, _ flags: Int32,
                             _ outFlags: UnsafeMutablePointer<Int32>?) -> Int32 {
        let innerFile = inner(file)
        file.pointee.pMethods = nil
        bufferSlot(file).pointee = nil
        walBufferSlot(file).pointee = nil
        let status = platformVFS!.pointee.xOpen!(platformVFS, name, innerFile, flags, outFlags)
        // SQLite closes no file whose open failed: ours must then have no methods, and the platform's is closed here.
        guard status == SQLITE_OK else {
            if let close = innerFile.pointee.pMethods?.pointee.xClose { _ = close(innerFile) }
            return status
        }
        if flags & SQLITE_OPEN_WAL != 0 {
            let buffer = WriteBuffer()
            bufferSlot(file).pointee = Unmanaged.passRetained(buffer).toOpaque()
            // The database file SQLite opened this WAL for, through this VFS too: its write lock tells when a transaction ends.
            if let name, let database = sqlite3_database_file_object(name), database.pointee.pMethods == UnsafePointer(methods) {
                walBufferSlot(database).pointee = Unmanaged.passRetained(buffer).toOpaque()
                buffer.database = database
            }
        }
        file.pointee.pMethods = UnsafePointer(methods)
        return status
    }

    /// The buffered bytes of one WAL file, and where in the file they go.
    private final class WriteBuffer {
        var bytes: UnsafeMutableRawPointer?
        var offset: Int64 = 0
        var count = 0
        /// The database file whose write lock ends this WAL's transactions, while both are open.
        var database: UnsafeMutablePointer<sqlite3_file>?
        var end: Int64 { offset + Int64(count) }

        deinit { bytes?.deallocate() }

        func overlaps(_ offset: Int64, _ amount: Int32) -> Bool {
            count > 0 && offset < end && offset + Int64(amount) > self.offset
        }
    }

    /// Writes the buffer to the file; it is empty afterwards whatever happened.
    private static func flush(_ file: UnsafeMutablePointer<sqlite3_file>?) -> Int32 {
        guard let buffer = buffer(file), buffer.count > 0 else { return SQLITE_OK }
        let count = buffer.count
        buffer.count = 0
        return innerMethods(file).xWrite!(inner(file!), buffer.bytes, Int32(count), buffer.offset)
    }

    private static func writeBuffered(_ file: UnsafeMutablePointer<sqlite3_file>?, _ data: UnsafeRawPointer?, _ amount: Int32, _ offset: Int64) -> Int32 {
        guard let buffer = buffer(file), let data else { return innerMethods(file).xWrite!(inner(file!), data, amount, offset) }
        let size = Int(amount)
        if buffer.count > 0 && offset >= buffer.offset && offset + Int64(size) <= buffer.end {
            (buffer.bytes! + Int(offset - buffer.offset)).copyMemory(from: data, byteCount: size)
            return SQLITE_OK
        }
        if buffer.count > 0 && offset == buffer.end && buffer.count + size <= bufferCapacity {
            (buffer.bytes! + buffer.count).copyMemory(from: data, byteCount: size)
            buffer.count += size
            return SQLITE_OK
        }
        let flushed = flush(file)
        guard flushed == SQLITE_OK else { return flushed }
        guard size <= bufferCapacity else { return innerMethods(file).xWrite!(inner(file!), data, amount, offset) }
        if buffer.bytes == nil { buffer.bytes = UnsafeMutableRawPointer.allocate(byteCount: bufferCapacity, alignment: 16) }
        buffer.bytes!.copyMemory(from: data, byteCount: size)
        buffer.offset = offset
        buffer.count = size
        return SQLITE_OK
    }

    /// Runs `body` once the buffer is written; the first error wins.
    private static func flushed(_ file: UnsafeMutablePointer<sqlite3_file>?, then body: () -> Int32) -> Int32 {
        let status = flush(file)
        return status == SQLITE_OK ? body() : status
    }

    nonisolated(unsafe) private static let methods: UnsafeMutablePointer<sqlite3_io_methods> = {
        let methods = UnsafeMutablePointer<sqlite3_io_methods>.allocate(capacity: 1)
        methods.initialize(to: sqlite3_io_methods(
            iVersion: 3,
            xClose: { file in
                let status = flush(file)
                let closed = innerMethods(file).xClose!(inner(file!))
                if let pointer = bufferSlot(file!).pointee {
                    let buffer = Unmanaged<WriteBuffer>.fromOpaque(pointer)
                    detach(buffer.takeUnretainedValue())
                    buffer.release()
                    bufferSlot(file!).pointee = nil
                }
                if let pointer = walBufferSlot(file!).pointee {
                    detach(Unmanaged<WriteBuffer>.fromOpaque(pointer).takeUnretainedValue())
                }
                return status == SQLITE_OK ? closed : status
            },
            xRead: { file, data, amount, offset in
                if let buffer = buffer(file), buffer.overlaps(offset, amount) {
                    let status = flush(file)
                    guard status == SQLITE_OK else { return status }
                }
                return innerMethods(file).xRead!(inner(file!), data, amount, offset)
            },
            xWrite: { file, data, amount, offset in CoalescedWALWrites.writeBuffered(file, data, amount, offset) },
            xTruncate: { file, size in flushed(file) { innerMethods(file).xTruncate!(inner(file!), size) } },
            xSync: { file, flags in flushed(file) { innerMethods(file).xSync!(inner(file!), flags) } },
            xFileSize: { file, size in flushed(file) { innerMethods(file).xFileSize!(inner(file!), size) } },
            xLock: { file, level in innerMethods(file).xLock!(inner(file!), level) },
            xUnlock: { file, level in innerMethods(file).xUnlock!(inner(file!), level) },
            xCheckReservedLock: { file, result in innerMethods(file).xCheckReservedLock!(inner(file!), result) },
            xFileControl: { file, operation, argument in innerMethods(file).xFileControl!(inner(file!), operation, argument) },
            xSectorSize: { file in innerMethods(file).xSectorSize!(inner(file!)) },
            xDeviceCharacteristics: { file in innerMethods(file).xDeviceCharacteristics!(inner(file!)) },
            xShmMap: { file, page, size, extend, mapped in
                innerMethods(file).xShmMap?(inner(file!), page, size, extend, mapped) ?? SQLITE_IOERR
            },
            xShmLock: { file, offset, count, flags in
                // The write lock let go: what a committed transaction wrote is in the file; the rest is a rolled-back one's.
                if offset == walWriteLock && flags & SQLITE_SHM_UNLOCK != 0, let pointer = walBufferSlot(file!).pointee {
                    Unmanaged<WriteBuffer>.fromOpaque(pointer).takeUnretainedValue().count = 0
                }
                return innerMethods(file).xShmLock?(inner(file!), offset, count, flags) ?? SQLITE_IOERR
            },
            xShmBarrier: { file in innerMethods(file).xShmBarrier?(inner(file!)) },
            xShmUnmap: { file, delete in innerMethods(file).xShmUnmap?(inner(file!), delete) ?? SQLITE_OK },
            xFetch: { file, offset, amount, pointer in
                guard let fetch = innerMethods(file).xFetch else {
                    pointer?.pointee = nil
                    return SQLITE_OK
                }
                return flushed(file) { fetch(inner(file!), offset, amount, pointer) }
            },
            xUnfetch: { file, offset, pointer in innerMethods(file).xUnfetch?(inner(file!), offset, pointer) ?? SQLITE_OK }))
        return methods
    }()
}
