import Foundation
import Ingest
import Spool

/// The whole pipeline as the config file describes it, checked and typed.
///
/// Built from Fluent Bit's classic format so that the tutorial's
/// `cloudwatch.conf` and the aws-for-fluent-bit image's files work unchanged.
public struct ShipperConfiguration: Sendable {
    public var service: ServiceSettings
    public var inputs: [ForwardServerConfiguration]
    public var filters: [any RecordFilter]
    public var outputs: [CloudWatchOutputSettings]
    /// Unknown keys and options accepted without effect, with file and line.
    public var notices: [ConfigNotice]

    /// Loads and checks `path` (and what it includes).
    public init(file path: String, environment: [String: String] = ProcessInfo.processInfo.environment) throws {
        var parser = ClassicConfigParser(environment: environment)
        let sections = try parser.parse(file: path)
        try self.init(sections: sections, environment: environment, notices: parser.notices)
    }

    init(sections: [ConfigSection], environment: [String: String], notices: [ConfigNotice]) throws {
        var notices = notices
        var service = ServiceSettings()
        var inputs: [ForwardServerConfiguration] = []
        var filters: [any RecordFilter] = []
        var outputs: [CloudWatchOutputSettings] = []
        var outputLimit: Int?
        for section in sections {
            var reader = SectionReader(section)
            switch section.name {
            case "SERVICE":
                service = try ServiceSettings(&reader, notices: &notices)
                notices += reader.unknownKeyNotices(plugin: "")
            case "INPUT":
                let name = try reader.required("Name", what: "the input plugin")
                guard name.lowercased() == "forward" else {
                    throw ConfigError("input plugin \(name) is not supported; this shipper takes Name forward", at: section.location)
                }
                inputs.append(try ForwardInputSettings.parse(&reader))
                notices += reader.unknownKeyNotices(plugin: "forward")
            case "FILTER":
                let name = try reader.required("Name", what: "the filter plugin")
                filters.append(try FilterSettings.parse(name: name, &reader, notices: &notices))
                notices += reader.unknownKeyNotices(plugin: name)
            case "OUTPUT":
                let name = try reader.required("Name", what: "the output plugin")
                guard name.lowercased() == "cloudwatch_logs" else {
                    throw ConfigError("output plugin \(name) is not supported; this shipper takes Name cloudwatch_logs", at: section.location)
                }
                if let limit = reader.entry("storage.total_limit_size") {
                    // Fluent Bit sets this per output; here one spool serves every output.
                    let bytes = try reader.size("storage.total_limit_size", default: 0)
                    outputLimit = max(outputLimit ?? 0, bytes)
                    notices.append(ConfigNotice(level: .notice, location: limit.location, message: "storage.total_limit_size in [OUTPUT] limits the whole spool here (the largest value of all outputs, unless [SERVICE] sets it)"))
                }
                outputs.append(try CloudWatchOutputSettings(&reader, environment: environment, notices: &notices))
                notices += reader.unknownKeyNotices(plugin: "cloudwatch_logs")
            default:
                throw ConfigError("unknown section [\(section.name)]", at: section.location)
            }
        }
        if service.storageTotalLimit == nil { service.storageTotalLimit = outputLimit }
        guard !inputs.isEmpty else { throw ConfigError("the config has no [INPUT] with Name forward", at: nil) }
        guard !outputs.isEmpty else { throw ConfigError("the config has no [OUTPUT] with Name cloudwatch_logs", at: nil) }
        self.service = service
        self.inputs = inputs
        self.filters = filters
        self.outputs = outputs
        self.notices = notices
    }
}

/// `[SERVICE]`: timing, logging and the spool.
public struct ServiceSettings: Sendable {
    /// `Flush`: the longest a record waits before its batch is sent, in seconds.
    public var flush: Double = 5
    /// `Grace`: seconds the uploaders get to finish on shutdown.
    public var grace: Double = 5
    /// `Log_Level`: error, warn, info, debug or trace.
    public var logLevel: String = "info"
    /// `storage.path`: the folder holding the spool database.
    public var storagePath: String = ServiceSettings.defaultStoragePath
    /// `storage.sync`: full (fsync every commit) or normal.
    public var storageSync: SpoolSyncMode = .full
    /// `storage.total_limit_size`: the spool's size at which ingest pauses; nil means only the disk limits it.
    public var storageTotalLimit: Int?
    /// `storage.keep_delivered`: how long delivered records stay for replays.
    public var storageKeepDelivered: Double = 3600
    /// `storage.disk_reserve`: intake pauses while the spool's filesystem has less free (README).
    public var storageDiskReserve: Int = Int(Spool.Configuration.defaultDiskReserveBytes)
    /// `storage.on_corruption`: move_aside (default) or stop.
    public var storageOnCorruption: SpoolCorruptionPolicy = .moveAside
    /// `HTTP_Server`: serve health, metrics and status over HTTP.
    public var httpServer = false
    /// `HTTP_Listen`: 127.0.0.1 unless set (the endpoint tells about every log group).
    public var httpListen = "127.0.0.1"
    /// `HTTP_Port`: 2020, as Fluent Bit.
    public var httpPort: UInt16 = 2020

    public static var defaultStoragePath: String {
        #if os(Windows)
        return "C:\\ProgramData\\shipper"
        #else
        return "/var/lib/shipper"
        #endif
    }

    init() {}

    init(_ reader: inout SectionReader, notices: inout [ConfigNotice]) throws {
        flush = try reader.seconds("Flush", default: flush)
        if flush == 0 { throw ConfigError("Flush must be more than 0 seconds", at: reader.entry("Flush")?.location) }
        grace = try reader.seconds("Grace", default: grace)
        if let entry = reader.entry("Log_Level") {
            let levels = ["off", "error", "warn", "warning", "info", "debug", "trace"]
            guard levels.contains(entry.value.lowercased()) else {
                throw ConfigError("Log_Level must be one of error, warn, info, debug, trace or off, not \"\(entry.value)\"", at: entry.location)
            }
            logLevel = entry.value.lowercased()
        }
        if let entry = reader.entry("Daemon"), try reader.bool("Daemon", default: false) {
            notices.append(ConfigNotice(level: .notice, location: entry.location, message: "Daemon On is ignored: the shipper runs in the foreground, as containers and services expect"))
        }
        if let entry = reader.entry("storage.path") { storagePath = entry.value }
        if let entry = reader.entry("storage.sync") {
            guard let mode = SpoolSyncMode(rawValue: entry.value.lowercased()) else {
                throw ConfigError("storage.sync must be full or normal, not \"\(entry.value)\"", at: entry.location)
            }
            storageSync = mode
        }
        if reader.entry("storage.total_limit_size") != nil {
            storageTotalLimit = try reader.size("storage.total_limit_size", default: 0)
        }
        storageKeepDelivered = try reader.duration("storage.keep_delivered", default: storageKeepDelivered)
        storageDiskReserve = try reader.size("storage.disk_reserve", default: storageDiskReserve, allowingZero: true)
        httpServer = try reader.bool("HTTP_Server", default: false)
        if let listen = reader.string("HTTP_Listen") { httpListen = listen }
        httpPort = UInt16(try reader.integer("HTTP_Port", default: Int(httpPort), range: 0...65535))
        if let entry = reader.entry("storage.on_corruption") {
            guard let policy = SpoolCorruptionPolicy(rawValue: entry.value.lowercased()) else {
                throw ConfigError("storage.on_corruption must be move_aside or stop, not \"\(entry.value)\"", at: entry.location)
            }
            storageOnCorruption = policy
        }
    }
}

/// `[INPUT] Name forward`.
enum ForwardInputSettings {
    static func parse(_ reader: inout SectionReader) throws -> ForwardServerConfiguration {
        var settings = ForwardServerConfiguration()
        if let listen = reader.string("Listen") { settings.listen = listen }
        settings.port = UInt16(try reader.integer("Port", default: Int(settings.port), range: 0...65535))
        settings.tagPrefix = reader.string("Tag_Prefix") ?? ""
        settings.bufferChunkSize = try reader.size("Buffer_Chunk_Size", default: settings.bufferChunkSize)
        settings.bufferMaxSize = try reader.size("Buffer_Max_Size", default: settings.bufferMaxSize)
        if let path = reader.string("Unix_Path"), !path.isEmpty {
            settings.unixPath = path
            if let entry = reader.entry("Unix_Perm") {
                guard let mode = UInt32(entry.value, radix: 8), mode <= 0o777 else {
                    throw ConfigError("Unix_Perm must be an octal mode such as 0660, not \"\(entry.value)\"", at: entry.location)
                }
                settings.unixPermissions = mode
            }
        }
        if let key = reader.string("Shared_Key"), !key.isEmpty {
            var users: [String: String] = [:]
            for entry in reader.entries(["Security.Users"]) {
                let words = entry.value.split(whereSeparator: { $0 == " " || $0 == "\t" }).map(String.init)
                guard words.count == 2 else {
                    throw ConfigError("Security.Users expects USER PASSWORD, got \"\(entry.value)\"", at: entry.location)
                }
                users[words[0]] = words[1]
            }
            let hostname = reader.string("Self_Hostname") ?? ProcessInfo.processInfo.hostName
            settings.handshake = ForwardHandshake(sharedKey: key, selfHostname: hostname, users: users)
        }
        if try reader.bool("tls", default: false) {
            let certificate = try reader.required("tls.crt_file", what: "the PEM certificate chain for tls On")
            let key = try reader.required("tls.key_file", what: "the PEM private key for tls On")
            do {
                settings.tls = try TLSServerContext(certificateFile: certificate, keyFile: key)
            } catch let error as TLSError {
                throw ConfigError("tls: \(error)", at: reader.entry("tls.crt_file")?.location)
            }
        }
        settings.maxConnections = try reader.integer("Max_Connections", default: settings.maxConnections, range: 1...1_000_000)
        settings.idleTimeout = try reader.seconds("Idle_Timeout", default: settings.idleTimeout)
        settings.maxEntriesPerFrame = try reader.integer("Max_Entries_Per_Frame", default: settings.maxEntriesPerFrame, range: 1...100_000_000)
        if reader.entry("Max_Record_Size") != nil { settings.maxRecordSize = try reader.size("Max_Record_Size", default: 0) }
        settings.handshakeTimeout = try reader.seconds("Handshake_Timeout", default: settings.handshakeTimeout)
        if settings.handshakeTimeout <= 0 {
            throw ConfigError("Handshake_Timeout must be more than 0 seconds", at: reader.entry("Handshake_Timeout")?.location)
        }
        if settings.bufferMaxSize < settings.bufferChunkSize {
            throw ConfigError("Buffer_Max_Size (\(settings.bufferMaxSize) bytes) must not be smaller than Buffer_Chunk_Size (\(settings.bufferChunkSize) bytes)", at: reader.entry("Buffer_Max_Size")?.location)
        }
        return settings
    }
}

/// `[FILTER] Name modify` and `[FILTER] Name rewrite_tag`.
enum FilterSettings {
    static func parse(name: String, _ reader: inout SectionReader, notices: inout [ConfigNotice]) throws -> any RecordFilter {
        let match = TagPattern(reader.string("Match") ?? "*")
        switch name.lowercased() {
        case "modify":
            let keys = ["Rename", "Hard_rename", "Copy", "Hard_copy", "Add", "Set", "Remove"]
            var rules: [ModifyFilter.Rule] = []
            for entry in reader.entries(keys) {
                let words = entry.value.split(whereSeparator: { $0 == " " || $0 == "\t" }).map(String.init)
                let wanted = entry.key.caseInsensitiveEquals("Remove") ? 1 : 2
                guard words.count == wanted || (wanted == 2 && words.count > 2 && ["add", "set"].contains(entry.key.lowercased())) else {
                    throw ConfigError("\(entry.key) expects \(wanted == 1 ? "KEY" : "KEY VALUE"), got \"\(entry.value)\"", at: entry.location)
                }
                let rest = words.dropFirst().joined(separator: " ")
                switch entry.key.lowercased() {
                case "rename": rules.append(.rename(from: words[0], to: rest))
                case "hard_rename": rules.append(.hardRename(from: words[0], to: rest))
                case "copy": rules.append(.copy(from: words[0], to: rest))
                case "hard_copy": rules.append(.hardCopy(from: words[0], to: rest))
                case "add": rules.append(.add(key: words[0], value: rest))
                case "set": rules.append(.set(key: words[0], value: rest))
                default: rules.append(.remove(key: words[0]))
                }
            }
            let conditions = try reader.entries(["Condition"]).map { entry in
                do {
                    return try ModifyFilter.Condition(parsing: entry.value)
                } catch let error as ModifyConditionError {
                    throw ConfigError(error.description, at: entry.location)
                }
            }
            return ModifyFilter(match: match, rules: rules, conditions: conditions)
        case "rewrite_tag":
            let ruleEntries = reader.entries(["Rule"])
            guard !ruleEntries.isEmpty else {
                throw ConfigError("rewrite_tag needs at least one Rule ($KEY REGEX NEW_TAG KEEP)", at: reader.section.location)
            }
            let rules = try ruleEntries.map { entry in
                do {
                    return try RewriteTagFilter.Rule(parsing: entry.value)
                } catch let error as RewriteTagRuleError {
                    throw ConfigError(error.description, at: entry.location)
                }
            }
            if let emitter = reader.entry("Emitter_Name") {
                notices.append(ConfigNotice(level: .notice, location: emitter.location, message: "Emitter_Name accepted; re-emitted records go straight back through the filters, no emitter input is needed"))
            }
            return RewriteTagFilter(match: match, rules: rules)
        default:
            throw ConfigError("filter plugin \(name) is not supported; this shipper takes modify and rewrite_tag", at: reader.section.location)
        }
    }
}
