#if os(Windows)
import WinSDK
#elseif canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#elseif canImport(Darwin)
import Darwin
#endif

/// The exclusive claim one running shipper holds on its spool: an OS lock on
/// `<spool>.lock`, taken before the database is opened and held until the
/// process ends.
///
/// Two writers on one spool break it in ways SQLite's own locking does not
/// prevent: each closes the other's open shapes at start-up, and both deliver
/// the same streams. The OS drops the lock when the process dies, kill -9
/// included, so a stale file never keeps the next start out. The file holds
/// the holder's process id, for the error a second instance prints. Readers
/// (`status`, `replay`, `spool stats|export`) take no lock.
final class SpoolLock {
    #if os(Windows)
    private let handle: HANDLE
    /// Windows locks byte ranges and a locked range cannot be read by others,
    /// so the lock covers one byte far past the process id written at the start.
    private static let lockedOffset: DWORD = 0x4000_0000
    #else
    private let descriptor: Int32
    #endif
    let path: String

    /// Takes the lock for the spool at `spoolPath`, or throws `SpoolError.locked`
    /// naming the process that holds it.
    init(spoolPath: String) throws {
        path = spoolPath + ".lock"
        #if os(Windows)
        let opened = path.withCString(encodedAs: UTF16.self) {
            CreateFileW($0, GENERIC_READ | DWORD(GENERIC_WRITE), DWORD(FILE_SHARE_READ | FILE_SHARE_WRITE | FILE_SHARE_DELETE), nil,
                        DWORD(OPEN_ALWAYS), DWORD(FILE_ATTRIBUTE_NORMAL), nil)
        }
        guard let opened, opened != INVALID_HANDLE_VALUE else {
            throw SpoolError.lockFailed(path: path, reason: "CreateFileW failed (error \(GetLastError()))")
        }
        var overlapped = OVERLAPPED()
        overlapped.Offset = Self.lockedOffset
        guard LockFileEx(opened, DWORD(LOCKFILE_EXCLUSIVE_LOCK | LOCKFILE_FAIL_IMMEDIATELY), 0, 1, 0, &overlapped) else {
            let code = GetLastError()
            let holder = Self.readHolder(opened)
            CloseHandle(opened)
            guard code == DWORD(ERROR_LOCK_VIOLATION) else {
                throw SpoolError.lockFailed(path: path, reason: "LockFileEx failed (error \(code))")
            }
            throw SpoolError.locked(spool: spoolPath, holderPID: holder)
        }
        handle = opened
        var pid = Array("\(GetCurrentProcessId())\n".utf8)
        var written: DWORD = 0
        _ = SetFilePointer(opened, 0, nil, DWORD(FILE_BEGIN))
        _ = WriteFile(opened, &pid, DWORD(pid.count), &written, nil)
        _ = SetEndOfFile(opened)
        #else
        let fd = open(path, O_RDWR | O_CREAT | O_CLOEXEC, 0o600)
        guard fd >= 0 else { throw SpoolError.lockFailed(path: path, reason: String(cString: strerror(errno))) }
        guard flock(fd, LOCK_EX | LOCK_NB) == 0 else {
            let code = errno
            let holder = Self.readHolder(fd)
            close(fd)
            guard code == EWOULDBLOCK else { throw SpoolError.lockFailed(path: path, reason: String(cString: strerror(code))) }
            throw SpoolError.locked(spool: spoolPath, holderPID: holder)
        }
        descriptor = fd
        let pid = Array("\(getpid())\n".utf8)
        _ = ftruncate(fd, 0)
        _ = pid.withUnsafeBytes { pwrite(fd, $0.baseAddress, $0.count, 0) }
        #endif
    }

    deinit {
        #if os(Windows)
        CloseHandle(handle)
        #else
        close(descriptor)
        #endif
    }

    #if os(Windows)
    private static func readHolder(_ handle: HANDLE) -> String? {
        var bytes = [UInt8](repeating: 0, count: 32)
        var read: DWORD = 0
        _ = SetFilePointer(handle, 0, nil, DWORD(FILE_BEGIN))
        guard ReadFile(handle, &bytes, DWORD(bytes.count), &read, nil) else { return nil }
        return holder(in: bytes.prefix(Int(read)))
    }
    #else
    private static func readHolder(_ fd: Int32) -> String? {
        var bytes = [UInt8](repeating: 0, count: 32)
        let count = bytes.withUnsafeMutableBytes { pread(fd, $0.baseAddress, $0.count, 0) }
        return count > 0 ? holder(in: bytes.prefix(count)) : nil
    }
    #endif

    /// The process id a holder wrote, if the file holds one.
    private static func holder(in bytes: ArraySlice<UInt8>) -> String? {
        let digits = bytes.prefix { $0 >= UInt8(ascii: "0") && $0 <= UInt8(ascii: "9") }
        return digits.isEmpty ? nil : String(decoding: digits, as: UTF8.self)
    }
}
