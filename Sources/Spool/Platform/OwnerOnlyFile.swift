#if os(Windows)
import WinSDK
#elseif canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#elseif canImport(Darwin)
import Darwin
#endif

/// Creates the spool file before SQLite opens it, so that it and the WAL and
/// shared-memory files SQLite derives from it are readable by the owner only:
/// the spool holds every application's logs.
enum OwnerOnlyFile {
    static func create(at path: String) throws {
        #if os(Windows)
        // A protected DACL granting full control to the file's owner alone
        // ("OW"), with inheritance from the folder blocked ("P").
        var descriptor: PSECURITY_DESCRIPTOR?
        let sddl = "D:P(A;;FA;;;OW)"
        guard sddl.withCString(encodedAs: UTF16.self, { ConvertStringSecurityDescriptorToSecurityDescriptorW($0, DWORD(SDDL_REVISION_1), &descriptor, nil) }) else {
            throw SpoolError.filePermissions(path: path, reason: "cannot build the owner-only security descriptor (error \(GetLastError()))")
        }
        defer { LocalFree(descriptor) }
        var attributes = SECURITY_ATTRIBUTES(nLength: DWORD(MemoryLayout<SECURITY_ATTRIBUTES>.size), lpSecurityDescriptor: descriptor, bInheritHandle: false)
        let handle = path.withCString(encodedAs: UTF16.self) {
            CreateFileW($0, GENERIC_READ | DWORD(GENERIC_WRITE), 0, &attributes, DWORD(OPEN_ALWAYS), DWORD(FILE_ATTRIBUTE_NORMAL), nil)
        }
        guard handle != INVALID_HANDLE_VALUE else {
            throw SpoolError.filePermissions(path: path, reason: "CreateFileW failed (error \(GetLastError()))")
        }
        CloseHandle(handle)
        #else
        let fd = open(path, O_RDWR | O_CREAT, 0o600)
        guard fd >= 0 else {
            throw SpoolError.filePermissions(path: path, reason: String(cString: strerror(errno)))
        }
        close(fd)
        #endif
    }
}
