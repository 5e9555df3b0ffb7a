import Foundation

/// One `key value` line of a section.
public struct ConfigEntry: Equatable, Sendable {
    public var key: String
    public var value: String
    public var location: SourceLocation
}

/// One `[SECTION]` with its entries in file order.
public struct ConfigSection: Equatable, Sendable {
    /// Upper-cased: `SERVICE`, `INPUT`, `FILTER`, `OUTPUT`.
    public var name: String
    public var location: SourceLocation
    public var entries: [ConfigEntry]
}

/// Reads Fluent Bit's classic config format: `[SECTION]` headers, `key value`
/// lines, `#` comments, `@INCLUDE file`, `@SET name=value` and `${VAR}`
/// references, so that the files users already have load unchanged.
public struct ClassicConfigParser {
    public var environment: [String: String]
    public private(set) var notices: [ConfigNotice] = []
    private var variables: [String: String] = [:]
    private var includeDepth = 0

    public init(environment: [String: String] = ProcessInfo.processInfo.environment) {
        self.environment = environment
    }

    /// Parses `path` and everything it includes.
    public mutating func parse(file path: String) throws -> [ConfigSection] {
        guard let data = FileManager.default.contents(atPath: path) else {
            throw ConfigError("cannot read config file \(path)", at: nil)
        }
        guard let text = String(data: data, encoding: .utf8) else {
            throw ConfigError("config file \(path) is not UTF-8 text", at: nil)
        }
        var sections: [ConfigSection] = []
        try parse(text: text, file: path, into: &sections)
        return sections
    }

    /// Parses config text as if it were the file `file`.
    public mutating func parse(text: String, file: String) throws -> [ConfigSection] {
        var sections: [ConfigSection] = []
        try parse(text: text, file: file, into: &sections)
        return sections
    }

    private mutating func parse(text: String, file: String, into sections: inout [ConfigSection]) throws {
        var lineNumber = 0
        for rawLine in text.split(separator: "\n", omittingEmptySubsequences: false) {
            lineNumber += 1
            let location = SourceLocation(file: file, line: lineNumber)
            let line = rawLine.trimmingCharacters(in: .whitespaces.union(CharacterSet(charactersIn: "\r")))
            if line.isEmpty || line.hasPrefix("#") { continue }

            if line.hasPrefix("@") {
                try directive(line, location: location, into: &sections)
                continue
            }
            if line.hasPrefix("[") {
                guard line.hasSuffix("]"), line.count > 2 else {
                    throw ConfigError("malformed section header \(line); expected [SERVICE], [INPUT], [FILTER] or [OUTPUT]", at: location)
                }
                let name = line.dropFirst().dropLast().trimmingCharacters(in: .whitespaces).uppercased()
                guard ["SERVICE", "INPUT", "FILTER", "OUTPUT"].contains(name) else {
                    throw ConfigError("unknown section [\(name)]; expected [SERVICE], [INPUT], [FILTER] or [OUTPUT]", at: location)
                }
                sections.append(ConfigSection(name: name, location: location, entries: []))
                continue
            }
            guard !sections.isEmpty else {
                throw ConfigError("\"\(line)\" is outside any section; a [SECTION] header must come first", at: location)
            }
            let parts = line.split(maxSplits: 1, whereSeparator: { $0 == " " || $0 == "\t" })
            guard parts.count == 2 else {
                throw ConfigError("key \(parts[0]) has no value; expected \"key value\"", at: location)
            }
            let value = try expand(parts[1].trimmingCharacters(in: .whitespaces), location: location)
            sections[sections.count - 1].entries.append(ConfigEntry(key: String(parts[0]), value: value, location: location))
        }
    }

    private mutating func directive(_ line: String, location: SourceLocation, into sections: inout [ConfigSection]) throws {
        let parts = line.split(maxSplits: 1, whereSeparator: { $0 == " " || $0 == "\t" })
        let name = parts[0].uppercased()
        let argument = parts.count > 1 ? try expand(parts[1].trimmingCharacters(in: .whitespaces), location: location) : ""
        switch name {
        case "@INCLUDE":
            guard !argument.isEmpty else { throw ConfigError("@INCLUDE needs a file name", at: location) }
            guard includeDepth < 16 else { throw ConfigError("@INCLUDE nested more than 16 deep (an include loop?)", at: location) }
            let path = try resolveInclude(argument, from: location)
            guard let data = FileManager.default.contents(atPath: path), let text = String(data: data, encoding: .utf8) else {
                throw ConfigError("cannot read included file \(path)", at: location)
            }
            includeDepth += 1
            defer { includeDepth -= 1 }
            try parse(text: text, file: path, into: &sections)
        case "@SET":
            let assignment = argument.split(separator: "=", maxSplits: 1)
            guard assignment.count == 2 else { throw ConfigError("@SET expects NAME=VALUE", at: location) }
            variables[assignment[0].trimmingCharacters(in: .whitespaces)] = assignment[1].trimmingCharacters(in: .whitespaces)
        default:
            throw ConfigError("unknown directive \(parts[0]); expected @INCLUDE or @SET", at: location)
        }
    }

    /// Resolves an include the way the aws-for-fluent-bit image's files expect,
    /// and still finds the file when the layout was copied elsewhere: a relative
    /// path is taken from the including file's folder, and an absolute path that
    /// does not exist (`/ecs_windows_forward_daemon/service.conf` outside that image)
    /// falls back to the same file name beside the including file.
    private mutating func resolveInclude(_ target: String, from location: SourceLocation) throws -> String {
        let folder = (location.file as NSString).deletingLastPathComponent
        let normalized = target.replacingOccurrences(of: "\\", with: "/")
        let isAbsolute = normalized.hasPrefix("/") || (normalized.count > 2 && normalized.dropFirst().hasPrefix(":/"))
        if !isAbsolute { return (folder as NSString).appendingPathComponent(normalized) }
        if FileManager.default.fileExists(atPath: target) { return target }
        let beside = (folder as NSString).appendingPathComponent((normalized as NSString).lastPathComponent)
        guard FileManager.default.fileExists(atPath: beside) else {
            throw ConfigError("included file \(target) does not exist (nor \(beside))", at: location)
        }
        notices.append(ConfigNotice(level: .notice, location: location, message: "@INCLUDE \(target) not found; using \(beside)"))
        return beside
    }

    /// Replaces `${NAME}` with an `@SET` variable or the environment variable of that name.
    private mutating func expand(_ value: String, location: SourceLocation) throws -> String {
        guard value.contains("${") else { return value }
        var result = ""
        var rest = Substring(value)
        while let start = rest.range(of: "${") {
            result += rest[..<start.lowerBound]
            guard let end = rest[start.upperBound...].firstIndex(of: "}") else {
                throw ConfigError("unterminated ${ in \"\(value)\"", at: location)
            }
            let name = String(rest[start.upperBound..<end])
            if let replacement = variables[name] ?? environment[name] {
                result += replacement
            } else {
                notices.append(ConfigNotice(level: .warning, location: location, message: "${\(name)} is not set; using an empty value"))
            }
            rest = rest[rest.index(after: end)...]
        }
        return result + rest
    }
}
