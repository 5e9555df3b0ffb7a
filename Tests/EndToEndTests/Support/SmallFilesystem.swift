import Foundation
import XCTest

/// A tmpfs of a few MiB mounted for one test: a real filesystem that really
/// fills up (ENOSPC), not a mock of one. Mounting needs root, as CI runs;
/// elsewhere, and on Windows (no tmpfs), the test is skipped with a message saying so.
final class SmallFilesystem {
    let path: String

    init(at path: String, megabytes: Int) throws {
        #if os(Windows)
        throw XCTSkip("a full disk is made with a \(megabytes) MiB tmpfs, which Windows does not have; the full-disk tests run on Linux")
        #else
        guard getuid() == 0 else {
            throw XCTSkip("mounting a \(megabytes) MiB tmpfs needs root (CI runs as root); run the tests as root to check a full disk")
        }
        try FileManager.default.createDirectory(atPath: path, withIntermediateDirectories: true)
        let mount = try ChildProcess("mount", ["-t", "tmpfs", "-o", "size=\(megabytes)m,mode=0700", "tmpfs", path], name: "mount")
        guard try mount.waitForExit(timeout: 30) == 0 else {
            throw XCTSkip("cannot mount a tmpfs here (\(mount.text.trimmingCharacters(in: .whitespacesAndNewlines))): the full-disk test needs it")
        }
        self.path = path
        #endif
    }

    /// Bytes still free for an unprivileged writer.
    var availableBytes: Int64 {
        #if os(Windows)
        // Never reached there (the initializer skips), but it must compile: Windows has no statvfs.
        let free = try? FileManager.default.attributesOfFileSystem(forPath: path)[.systemFreeSize] as? NSNumber
        return free?.int64Value ?? 0
        #else
        var stats = statvfs()
        guard statvfs(path, &stats) == 0 else { return 0 }
        return Int64(stats.f_bavail) * Int64(stats.f_frsize)
        #endif
    }

    /// Writes a file until the filesystem has nothing left, as another program filling the disk would.
    func fill(name: String = "filler") throws {
        let handle = try XCTUnwrap(FileHandle(forWritingAtPath: createFile(name)))
        defer { try? handle.close() }
        let block = Data(count: 64 * 1024)
        do {
            while true { try handle.write(contentsOf: block) }
        } catch {}
        let small = Data(count: 512)
        do {
            while true { try handle.write(contentsOf: small) }
        } catch {}
    }

    func remove(_ name: String = "filler") {
        try? FileManager.default.removeItem(atPath: (path as NSString).appendingPathComponent(name))
    }

    private func createFile(_ name: String) -> String {
        let file = (path as NSString).appendingPathComponent(name)
        _ = FileManager.default.createFile(atPath: file, contents: nil)
        return file
    }

    deinit {
        let unmount = try? ChildProcess("umount", ["-l", path], name: "umount")
        _ = try? unmount?.waitForExit(timeout: 30)
    }
}
