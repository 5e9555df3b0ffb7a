import Foundation

/// Reads a process's resident memory from `/proc` (Linux only; the benchmark
/// reports "n/a" elsewhere).
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
}
