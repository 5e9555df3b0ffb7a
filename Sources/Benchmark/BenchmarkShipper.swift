import ArgumentParser
import Foundation

/// The real `shipper` binary as a benchmark's child process: a config derived
/// from a real one (loopback listener on an OS-chosen port, plus the benchmark's
/// `[SERVICE]` settings), test credentials, and the port it reports.
final class BenchmarkShipper {
    let process = Process()
    let port: UInt16

    /// Starts `binary` on `configPath` rewritten into `folder`, shipping to `endpoint`.
    init(binary: String, configPath: String, folder: URL, endpoint: String, service: [String: String], arguments: [String] = []) throws {
        var text = try String(contentsOfFile: configPath, encoding: .utf8)
        text = text.replacingOccurrences(of: #"(?m)^(\s*Listen\s+).*$"#, with: "$1127.0.0.1", options: .regularExpression)
        text = text.replacingOccurrences(of: #"(?m)^(\s*Port\s+).*$"#, with: "$10", options: .regularExpression)
        for (key, value) in service.sorted(by: { $0.key < $1.key }) {
            let line = #"(?mi)^(\s*"# + NSRegularExpression.escapedPattern(for: key) + #"\s+).*$"#
            if text.range(of: line, options: .regularExpression) != nil {
                text = text.replacingOccurrences(of: line, with: "$1" + value, options: .regularExpression)
            } else {
                text = text.replacingOccurrences(of: "[SERVICE]\n", with: "[SERVICE]\n    \(key) \(value)\n")
            }
        }
        let path = folder.appendingPathComponent("bench.conf").path
        try text.write(toFile: path, atomically: true, encoding: .utf8)

        process.executableURL = URL(fileURLWithPath: binary)
        process.arguments = ["-c", path] + arguments
        var environment = ProcessInfo.processInfo.environment.filter { !$0.key.hasPrefix("AWS_") }
        environment["AWS_REGION"] = "us-east-1"
        environment["AWS_ACCESS_KEY_ID"] = "bench"
        environment["AWS_SECRET_ACCESS_KEY"] = "bench"
        environment["AWS_EC2_METADATA_DISABLED"] = "true"
        environment["AWS_ENDPOINT_URL"] = endpoint
        process.environment = environment
        let pipe = Pipe()
        process.standardError = pipe
        try process.run()
        port = try Self.waitForPort(pipe.fileHandleForReading)
        // Keep draining the log so the shipper never blocks on a full pipe.
        pipe.fileHandleForReading.readabilityHandler = { _ = $0.availableData }
    }

    var pid: Int32 { process.processIdentifier }

    func stop() {
        process.terminate()
        process.waitUntilExit()
    }

    private static func waitForPort(_ handle: FileHandle) throws -> UInt16 {
        var seen = ""
        let deadline = Date().addingTimeInterval(60)
        while Date() < deadline {
            let data = handle.availableData
            if data.isEmpty { break }
            seen += String(decoding: data, as: UTF8.self)
            if let range = seen.range(of: #"forward input listening.*port=(\d+)"#, options: .regularExpression),
               let port = seen[range].split(separator: "=").last.flatMap({ UInt16($0) }) {
                return port
            }
        }
        throw ValidationError("the shipper did not report its port: \(seen)")
    }
}
