import Foundation

/// What a running shipper shows of itself: its memory from /proc and its
/// figures from the metrics endpoint, for tests that assert on either.
enum ShipperFigures {
    /// A figure of /proc/<pid>/status, in KiB: `VmRSS:` is resident now,
    /// `VmHWM:` the most the process has had resident since it started.
    static func memoryKiB(of pid: Int32, _ field: String) throws -> Int {
        let status = try String(contentsOfFile: "/proc/\(pid)/status", encoding: .utf8)
        guard let line = status.split(separator: "\n").first(where: { $0.hasPrefix(field) }),
              let kib = line.split(separator: " ").dropFirst().first.flatMap({ Int($0) }) else {
            throw ChildProcessError.failed("no \(field) in /proc/\(pid)/status")
        }
        return kib
    }

    /// The unlabelled series of the Prometheus endpoint on `port`, by name.
    static func metrics(port: String) throws -> [String: Double] {
        let text = try String(contentsOf: URL(string: "http://127.0.0.1:\(port)/api/v1/metrics/prometheus")!, encoding: .utf8)
        var values: [String: Double] = [:]
        for line in text.split(separator: "\n") where !line.hasPrefix("#") {
            let parts = line.split(separator: " ")
            if parts.count == 2, !parts[0].contains("{"), let value = Double(parts[1]) { values[String(parts[0])] = value }
        }
        return values
    }
}
