/// A place in a config file, for messages an operator can act on.
public struct SourceLocation: Hashable, Sendable, CustomStringConvertible {
    public var file: String
    public var line: Int

    public var description: String { "\(file):\(line)" }
}

/// A config problem that stops the shipper: where it is and what was expected.
public struct ConfigError: Error, Equatable, CustomStringConvertible {
    public var location: SourceLocation?
    public var message: String

    public init(_ message: String, at location: SourceLocation?) {
        self.message = message
        self.location = location
    }

    public var description: String {
        guard let location else { return message }
        return "\(location): \(message)"
    }
}

/// A config remark that does not stop the shipper (an unknown key, an option with no meaning here).
public struct ConfigNotice: Equatable, Sendable, CustomStringConvertible {
    public enum Level: String, Sendable { case warning, notice }

    public var level: Level
    public var location: SourceLocation
    public var message: String

    public var description: String { "\(location): \(level.rawValue): \(message)" }
}
