#if os(Windows)
import WinSDK
#elseif canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#elseif canImport(Darwin)
import Darwin
#endif

/// Free space on the filesystem that holds a path, as this process may use it.
enum DiskSpace {
    /// Bytes an unprivileged writer can still allocate on the filesystem of
    /// `directory` (statvfs `f_bavail`; on Windows the caller's share from
    /// `GetDiskFreeSpaceExW`, which honours quotas), or nil if it cannot be asked.
    static func availableBytes(in directory: String) -> Int64? {
        #if os(Windows)
        var available = ULARGE_INTEGER()
        let asked = directory.withCString(encodedAs: UTF16.self) { GetDiskFreeSpaceExW($0, &available, nil, nil) }
        return asked ? Int64(clamping: available.QuadPart) : nil
        #else
        var stats = statvfs()
        guard statvfs(directory, &stats) == 0 else { return nil }
        return Int64(clamping: UInt64(stats.f_bavail) &* UInt64(stats.f_frsize))
        #endif
    }
}
