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
        return cpuSeconds(statFile: "/proc/\(pid)/stat")
        #else
        return nil
        #endif
    }

    /// CPU seconds of the process's live threads by name, with numbered names
    /// (`forward-loop-0`, `forward-loop-1`) counted together, most first: where
    /// the time of a run went, the spool's writer against the event loops.
    static func cpuSecondsByThread(pid: Int32) -> [(name: String, seconds: Double)] {
        #if os(Linux)
        let tasks = "/proc/\(pid)/task"
        guard let ids = try? FileManager.default.contentsOfDirectory(atPath: tasks) else { return [] }
        var byName: [String: Double] = [:]
        for id in ids {
            guard let comm = try? String(contentsOfFile: "\(tasks)/\(id)/comm", encoding: .utf8),
                  let seconds = cpuSeconds(statFile: "\(tasks)/\(id)/stat") else { continue }
            var name = comm.trimmingCharacters(in: .whitespacesAndNewlines)
            while let last = name.last, last.isNumber || last == "-" { name.removeLast() }
            byName[name, default: 0] += seconds
        }
        return byName.map { ($0.key, $0.value) }.sorted { $0.seconds > $1.seconds }
        #else
        return []
        #endif
    }

    /// utime plus stime of a `stat` file (a process's or one thread's), in seconds.
    private static func cpuSeconds(statFile path: String) -> Double? {
        guard let text = try? String(contentsOfFile: path, encoding: .utf8),
              let close = text.lastIndex(of: ")") else { return nil }
        let fields = text[text.index(after: close)...].split(separator: " ")
        // After the command name: state is field 3, utime field 14 and stime field 15 (1-based in proc(5)).
        guard fields.count > 12, let user = Double(fields[11]), let system = Double(fields[12]) else { return nil }
        return (user + system) / 100
    }
}
