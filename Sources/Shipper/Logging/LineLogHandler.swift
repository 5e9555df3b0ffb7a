import Foundation
import Logging

/// Writes one line per event to standard error: time, level, message, then
/// `key=value` metadata, which both people and log collectors can read.
struct LineLogHandler: LogHandler {
    var logLevel: Logger.Level
    var metadata: Logger.Metadata = [:]
    private let label: String
    private static let lock = NSLock()

    init(label: String, level: Logger.Level) {
        self.label = label
        self.logLevel = level
    }

    subscript(metadataKey key: String) -> Logger.Metadata.Value? {
        get { metadata[key] }
        set { metadata[key] = newValue }
    }

    func log(event: LogEvent) {
        var line = "\(Self.timestamp()) \(event.level.rawValue.uppercased()) [\(label)] \(event.message)"
        let merged = metadata.merging(event.metadata ?? [:]) { $1 }
        for (key, value) in merged.sorted(by: { $0.key < $1.key }) {
            let text = "\(value)"
            line += text.contains(" ") || text.isEmpty ? " \(key)=\"\(text)\"" : " \(key)=\(text)"
        }
        line += "\n"
        Self.lock.lock()
        FileHandle.standardError.write(Data(line.utf8))
        Self.lock.unlock()
    }

    private static func timestamp() -> String {
        let now = Date()
        let millis = Int(now.timeIntervalSince1970 * 1000) % 1000
        let base = SigV4Signer.amzDate(now)
        // 20261126T043300Z -> 2026-11-26T04:33:00.123Z
        let c = Array(base)
        return "\(String(c[0..<4]))-\(String(c[4..<6]))-\(String(c[6..<8]))T\(String(c[9..<11])):\(String(c[11..<13])):\(String(c[13..<15])).\(String(format: "%03d", millis))Z"
    }

    /// Maps Fluent Bit's `Log_Level` names.
    static func level(fromFluentBit name: String) -> Logger.Level {
        switch name {
        case "error", "off": return .error
        case "warn", "warning": return .warning
        case "debug": return .debug
        case "trace": return .trace
        default: return .info
        }
    }
}
