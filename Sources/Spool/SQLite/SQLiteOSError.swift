import CSQLite
import Foundation

/// The OS error code behind SQLite's I/O errors (errno; GetLastError on Windows).
///
/// SQLite takes the code at the moment a system call fails and reports it
/// only to its error log, as "os_unix.c:LINE: (CODE) call(path) - text";
/// `sqlite3_system_errno` reads errno later, when other calls have often
/// changed it (it reads 0 after a failed fsync during COMMIT). The log
/// callback runs on the thread whose call failed, so each thread keeps the
/// last code it saw for the error that call returns.
enum SQLiteOSError {
    private static let key = "shipper.sqlite.os-error"

    /// Installs the log callback; process-wide, before the first connection opens.
    static func install() -> Bool {
        csqlite_set_log({ _, code, message in
            guard SQLiteError.hasOSError(code), let message else { return }
            let text = String(cString: message)
            guard let open = text.range(of: ": ("), let value = Int32(text[open.upperBound...].prefix { $0.isNumber }) else { return }
            Thread.current.threadDictionary[SQLiteOSError.key] = value
        }, nil) == SQLITE_OK
    }

    /// The code this thread's last failed SQLite system call reported; 0 if none since the last take.
    static func take() -> Int32 {
        let dictionary = Thread.current.threadDictionary
        defer { dictionary.removeObject(forKey: key) }
        return dictionary[key] as? Int32 ?? 0
    }
}
