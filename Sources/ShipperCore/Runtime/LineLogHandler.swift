import Foundation
import Records
import Logging

/// Writes one line per event to standard error: time, level, message, then
/// `key=value` metadata, which both people and log collectors can read.
public struct LineLogHandler: LogHandler {
    public var logLevel: Logger.Level
    public var metadata: Logger.Metadata = [:]
    private let label: String
    private static let lock = NSLock()

    public init(label: String, level: Logger.Level) {
        self.label = label
        self.logLevel = level
    }

    public subscript(metadataKey key: String) -> Logger.Metadata.Value? {
        get { metadata[key] }
        set { metadata[key] = newValue }
    }

    public func log(event: LogEvent) {
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

    /// ISO 8601 in UTC with milliseconds: `2026-11-26T04:33:00.123Z`.
    private static func timestamp() -> String {
        let milliseconds = Int64((Date().timeIntervalSince1970 * 1000).rounded(.down))
        let (seconds, millis) = milliseconds.quotientAndRemainder(dividingBy: 1000)
        let t = UTCDateTime(epochSeconds: seconds)
        let p = UTCDateTime.padded
        return "\(t.year)-\(p(t.month, 2))-\(p(t.day, 2))T\(p(t.hour, 2)):\(p(t.minute, 2)):\(p(t.second, 2)).\(p(millis, 3))Z"
    }

    /// Maps Fluent Bit's `Log_Level` names.
    public static func level(fromFluentBit name: String) -> Logger.Level {
        switch name {
        case "error", "off": return .error
        case "warn", "warning": return .warning
        case "debug": return .debug
        case "trace": return .trace
        default: return .info
        }
    }
}
