import Foundation

/// Reads a process's resident memory, CPU time and threads from `/proc` (Linux only;
/// the benchmark reports "n/a" elsewhere).
enum ProcessMemory {
    /// Peak resident set size (VmHWM) in bytes.
    static func peakResident(pid: Int32) -> Int? {
        #if os(Linux)
        guard let text = try? String(contentsOfFile: "/proc/\(pid)/status", encoding: .utf8) else { return nil }
        for line in text.split(separator: "\n") where line.hasPrefix("VmHWM:") {
            let digits = line.split(separator: " ").dropFirst().first.flatMap { Int($0) }
            return digits.map { $0 * 1024 }
        }
        return nil
        #else
        return nil
        #endif
    }

    /// The threads the process has now (`Threads:` in its status).
    static func threads(pid: Int32) -> Int? {
        #if os(Linux)
        guard let text = try? String(contentsOfFile: "/proc/\(pid)/status", encoding: .utf8) else { return nil }
        return text.split(separator: "\n").first { $0.hasPrefix("Threads:") }.flatMap { Int($0.dropFirst("Threads:".count).trimmingCharacters(in: .whitespaces)) }
        #else
        return nil
        #endif
    }

    /// User plus system CPU seconds the process has used (Linux only).
    static func cpuSeconds(pid: Int32) -> Double? {
        #if os(Linux)
        guard let text = try? String(contentsOfFile: "/proc/\(pid)/stat", encoding: .utf8),
              let close = text.lastIndex(of: ")") else { return nil }
        let fields = text[text.index(after: close)...].split(separator: " ")
        // After the command name: state is field 3, utime field 14 and stime field 15 (1-based in proc(5)).
        guard fields.count > 12, let user = Double(fields[11]), let system = Double(fields[12]) else { return nil }
        return (user + system) / 100
        #else
        return nil
        #endif
    }
}
