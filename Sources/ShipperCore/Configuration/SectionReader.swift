/// Typed access to one section's keys, case-insensitively as in Fluent Bit,
/// remembering which keys were used so the rest can be reported as unknown.
struct SectionReader {
    let section: ConfigSection
    private(set) var used = Set<Int>()

    init(_ section: ConfigSection) {
        self.section = section
    }

    /// The last value given for `key` (a later line overrides an earlier one).
    mutating func entry(_ key: String) -> ConfigEntry? {
        let matches = section.entries.indices.filter { section.entries[$0].key.caseInsensitiveEquals(key) }
        used.formUnion(matches)
        return matches.last.map { section.entries[$0] }
    }

    /// Every entry whose key is one of `keys`, in file order.
    mutating func entries(_ keys: [String]) -> [ConfigEntry] {
        let matches = section.entries.indices.filter { i in keys.contains { section.entries[i].key.caseInsensitiveEquals($0) } }
        used.formUnion(matches)
        return matches.map { section.entries[$0] }
    }

    mutating func string(_ key: String) -> String? {
        entry(key).map(\.value)
    }

    mutating func required(_ key: String, what: String) throws -> String {
        guard let value = entry(key)?.value, !value.isEmpty else {
            throw ConfigError("[\(section.name)] needs \(key) (\(what))", at: section.location)
        }
        return value
    }

    mutating func bool(_ key: String, default fallback: Bool) throws -> Bool {
        guard let entry = entry(key) else { return fallback }
        switch entry.value.lowercased() {
        case "on", "true", "yes", "1": return true
        case "off", "false", "no", "0": return false
        default: throw ConfigError("\(entry.key) must be On or Off, not \"\(entry.value)\"", at: entry.location)
        }
    }

    mutating func seconds(_ key: String, default fallback: Double) throws -> Double {
        guard let entry = entry(key) else { return fallback }
        guard let value = Double(entry.value), value.isFinite, value >= 0 else {
            throw ConfigError("\(entry.key) must be a number of seconds, not \"\(entry.value)\"", at: entry.location)
        }
        return value
    }

    mutating func integer(_ key: String, default fallback: Int, range: ClosedRange<Int>) throws -> Int {
        guard let entry = entry(key) else { return fallback }
        guard let value = Int(entry.value), range.contains(value) else {
            throw ConfigError("\(entry.key) must be a whole number from \(range.lowerBound) to \(range.upperBound), not \"\(entry.value)\"", at: entry.location)
        }
        return value
    }

    /// A duration such as `90`, `90s`, `30m`, `24h` or `7d`, in seconds.
    mutating func duration(_ key: String, default fallback: Double) throws -> Double {
        guard let entry = entry(key) else { return fallback }
        var text = entry.value.trimmingCharacters(in: .whitespaces).lowercased()
        let units: [Character: Double] = ["s": 1, "m": 60, "h": 3600, "d": 86_400]
        var multiplier = 1.0
        if let last = text.last, let unit = units[last] {
            multiplier = unit
            text.removeLast()
        }
        guard let value = Double(text), value.isFinite, value >= 0 else {
            throw ConfigError("\(entry.key) must be a duration such as 90s, 30m, 24h or 7d, not \"\(entry.value)\"", at: entry.location)
        }
        return value * multiplier
    }

    /// A size such as `512k`, `1M`, `6MB`, `2G` or a plain byte count (units of 1024, as Fluent Bit).
    /// A size such as 512K, 1M or 2G; 0 only where `allowingZero` (for settings that 0 turns off).
    mutating func size(_ key: String, default fallback: Int, allowingZero: Bool = false) throws -> Int {
        guard let entry = entry(key) else { return fallback }
        guard let bytes = Self.parseSize(entry.value), bytes > 0 || (allowingZero && bytes == 0) else {
            throw ConfigError("\(entry.key) must be a size such as 512K, 1M or 2G\(allowingZero ? " (or 0)" : ""), not \"\(entry.value)\"", at: entry.location)
        }
        return bytes
    }

    static func parseSize(_ text: String) -> Int? {
        var digits = text.trimmingCharacters(in: .whitespaces).uppercased()
        if digits.hasSuffix("B") { digits.removeLast() }
        var multiplier = 1
        switch digits.last {
        case "K": multiplier = 1 << 10
        case "M": multiplier = 1 << 20
        case "G": multiplier = 1 << 30
        default: break
        }
        if multiplier > 1 { digits.removeLast() }
        guard let value = Int(digits), value >= 0 else { return nil }
        let (result, overflow) = value.multipliedReportingOverflow(by: multiplier)
        return overflow ? nil : result
    }

    /// Warnings for every key nothing asked for, with its line.
    func unknownKeyNotices(plugin: String) -> [ConfigNotice] {
        section.entries.indices.filter { !used.contains($0) }.map { index in
            let entry = section.entries[index]
            return ConfigNotice(level: .warning, location: entry.location, message: "unknown key \(entry.key) in [\(section.name)] \(plugin); ignored")
        }
    }
}

extension String {
    func caseInsensitiveEquals(_ other: String) -> Bool {
        count == other.count && lowercased() == other.lowercased()
    }
}
