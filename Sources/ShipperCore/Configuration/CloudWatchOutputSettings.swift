import Foundation
import Ingest
import Spool

/// `[OUTPUT] Name cloudwatch_logs`, with Fluent Bit's option names.
public struct CloudWatchOutputSettings: Sendable {
    /// Which output this is and what it is called: its place among the config's
    /// outputs and `Alias`, else `cloudwatch_logs.N` as Fluent Bit names it. Its
    /// streams in the spool, its metrics, status and replay carry it.
    public internal(set) var output: SpoolOutput
    public var match: TagPattern
    public var region: String
    /// `log_group_name`: the group, or the fallback when the template cannot be filled.
    public var logGroupName: String
    /// `log_group_template`: e.g. `/aws/ecs/$ecs_cluster.$ecs_task_definition_family`.
    public var logGroupTemplate: RecordTemplate?
    /// `log_stream_prefix`: the stream is this prefix plus the record's tag.
    public var logStreamPrefix: String?
    /// `log_stream_name`: one fixed stream.
    public var logStreamName: String?
    /// `log_stream_template`: the stream from record fields, falling back to the name or prefix.
    public var logStreamTemplate: RecordTemplate?
    public var autoCreateGroup: Bool
    /// `log_retention_days`: retention set on groups the shipper creates.
    public var logRetentionDays: Int?
    /// `log_group_class`: STANDARD or INFREQUENT_ACCESS for groups the shipper creates.
    public var logGroupClass: String?
    /// `tls.verify`: check the endpoint's certificate (On by default; Off for test endpoints only).
    public var verifyTLS = true
    /// `event_max_size` and `oversize_events` (`truncate` or `dead_letter`): what to do with messages over the per-event limit.
    public var batchLimits = BatchLimits()
    /// `log_group_tags`: `key=value,key=value` tags for groups the shipper creates.
    public var logGroupTags: [String: String] = [:]
    /// `log_key`: send only this field's value as the message instead of the whole record.
    public var logKey: String?
    /// `endpoint`, else `AWS_ENDPOINT_URL_CLOUDWATCH_LOGS`, else `AWS_ENDPOINT_URL`, else AWS's own.
    public var endpoint: URL

    /// `index`: the output's place among the config's `[OUTPUT]` sections.
    init(_ reader: inout SectionReader, index: Int, environment: [String: String], notices: inout [ConfigNotice]) throws {
        let alias = reader.string("Alias").flatMap { $0.isEmpty ? nil : $0 }
        output = SpoolOutput(index: index, name: alias ?? "cloudwatch_logs.\(index)")
        match = TagPattern(reader.string("Match") ?? "*")
        let regionEntry = reader.entry("region")
        guard let region = regionEntry?.value ?? environment["AWS_REGION"] ?? environment["AWS_DEFAULT_REGION"], !region.isEmpty else {
            throw ConfigError("cloudwatch_logs needs region (or AWS_REGION in the environment)", at: regionEntry?.location ?? reader.section.location)
        }
        self.region = region
        logGroupName = try reader.required("log_group_name", what: "the log group, and the fallback when log_group_template cannot be filled")
        logGroupTemplate = try Self.template(&reader, "log_group_template")
        logStreamPrefix = reader.string("log_stream_prefix")
        logStreamName = reader.string("log_stream_name")
        logStreamTemplate = try Self.template(&reader, "log_stream_template")
        autoCreateGroup = try reader.bool("auto_create_group", default: false)
        if let entry = reader.entry("log_retention_days") {
            let allowed = [1, 3, 5, 7, 14, 30, 60, 90, 120, 150, 180, 365, 400, 545, 731, 1096, 1827, 2192, 2557, 2922, 3288, 3653]
            guard let days = Int(entry.value), allowed.contains(days) else {
                throw ConfigError("log_retention_days must be one of CloudWatch's values (\(allowed.map(String.init).joined(separator: ", "))), not \"\(entry.value)\"", at: entry.location)
            }
            logRetentionDays = days
        }
        verifyTLS = try reader.bool("tls.verify", default: true)
        batchLimits.maxEventBytes = min(batchLimits.maxEventBytes, try reader.size("event_max_size", default: batchLimits.maxEventBytes))
        if let entry = reader.entry("oversize_events") {
            switch entry.value.lowercased() {
            case "truncate": batchLimits.truncateOversize = true
            case "dead_letter": batchLimits.truncateOversize = false
            default: throw ConfigError("oversize_events must be truncate or dead_letter, not \"\(entry.value)\"", at: entry.location)
            }
        }
        if let entry = reader.entry("log_group_tags") {
            for pair in entry.value.split(separator: ",") {
                let parts = pair.split(separator: "=", maxSplits: 1).map { $0.trimmingCharacters(in: .whitespaces) }
                guard parts.count == 2, !parts[0].isEmpty else {
                    throw ConfigError("log_group_tags must be key=value pairs separated by commas, not \"\(entry.value)\"", at: entry.location)
                }
                logGroupTags[parts[0]] = parts[1]
            }
        }
        if let entry = reader.entry("log_group_class") {
            let value = entry.value.uppercased()
            guard ["STANDARD", "INFREQUENT_ACCESS"].contains(value) else {
                throw ConfigError("log_group_class must be STANDARD or INFREQUENT_ACCESS, not \"\(entry.value)\"", at: entry.location)
            }
            logGroupClass = value
        }
        logKey = reader.string("log_key")
        guard logStreamName != nil || logStreamPrefix != nil else {
            throw ConfigError("cloudwatch_logs needs log_stream_name or log_stream_prefix", at: reader.section.location)
        }
        if let resolver = reader.entry("net.dns.resolver") {
            notices.append(ConfigNotice(level: .notice, location: resolver.location, message: "net.dns.resolver is a Fluent Bit networking option with no meaning here; ignored"))
        }
        let endpointEntry = reader.entry("endpoint")
        let endpointText = endpointEntry?.value ?? environment["AWS_ENDPOINT_URL_CLOUDWATCH_LOGS"] ?? environment["AWS_ENDPOINT_URL"]
        if let endpointText, !endpointText.isEmpty {
            let withScheme = endpointText.contains("://") ? endpointText : "https://\(endpointText)"
            guard let url = URL(string: withScheme), let scheme = url.scheme?.lowercased(), ["http", "https"].contains(scheme), url.host != nil else {
                throw ConfigError("endpoint must be an http or https URL, not \"\(endpointText)\"", at: endpointEntry?.location ?? reader.section.location)
            }
            endpoint = url
        } else {
            let suffix = region.hasPrefix("cn-") ? "amazonaws.com.cn" : "amazonaws.com"
            guard let url = URL(string: "https://logs.\(region).\(suffix)/") else {
                throw ConfigError("region \"\(region)\" does not make a valid endpoint host", at: regionEntry?.location ?? reader.section.location)
            }
            endpoint = url
        }
    }

    private static func template(_ reader: inout SectionReader, _ key: String) throws -> RecordTemplate? {
        guard let entry = reader.entry(key) else { return nil }
        do {
            return try RecordTemplate(parsing: entry.value, allowCaptures: false)
        } catch let error as RecordAccessorError {
            throw ConfigError(error.description, at: entry.location)
        }
    }
}
