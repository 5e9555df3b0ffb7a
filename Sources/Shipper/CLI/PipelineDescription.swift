import Ingest
import ShipperCore

/// The resolved pipeline as `check-config` prints it: what the shipper will
/// actually do, after includes, variables and defaults.
struct PipelineDescription {
    let text: String

    init(_ configuration: ShipperConfiguration) {
        var lines: [String] = []
        let service = configuration.service
        lines.append("service: flush \(service.flush)s, grace \(service.grace)s, log level \(service.logLevel)")
        lines.append("spool: \(service.storagePath) (storage.sync \(service.storageSync.rawValue), total limit \(service.storageTotalLimit.map { "\($0) bytes" } ?? "none but the disk"), keep delivered \(service.storageKeepDelivered)s, on corruption \(service.storageOnCorruption.rawValue))")
        for input in configuration.inputs {
            lines.append("input forward: listen \(input.listen):\(input.port), tag prefix \"\(input.tagPrefix)\", chunk \(input.bufferChunkSize) bytes, max frame \(input.bufferMaxSize) bytes")
        }
        for filter in configuration.filters {
            switch filter {
            case let modify as ModifyFilter:
                lines.append("filter modify: match \(modify.match), \(modify.rules.count) rule(s)")
                for rule in modify.rules { lines.append("  \(rule)") }
            case let rewrite as RewriteTagFilter:
                lines.append("filter rewrite_tag: match \(rewrite.match)")
                for rule in rewrite.rules {
                    lines.append("  $\(rule.key.path.joined(separator: ".")) =~ \(rule.regex.pattern) -> \(rule.newTag.parts.map(Self.describe).joined()) (keep original: \(rule.keepOriginal))")
                }
            default:
                lines.append("filter \(filter.name): match \(filter.match)")
            }
        }
        for output in configuration.outputs {
            let group = output.logGroupTemplate.map { "template \($0.parts.map(Self.describe).joined()), fallback \(output.logGroupName)" } ?? output.logGroupName
            let stream = output.logStreamName ?? "\(output.logStreamPrefix ?? "")<tag>"
            lines.append("output \(output.output.name) (cloudwatch_logs): match \(output.match), region \(output.region), endpoint \(output.endpoint.absoluteString)")
            lines.append("  log group: \(group)")
            lines.append("  log stream: \(stream)\(output.logStreamTemplate.map { " (template \($0.parts.map(Self.describe).joined()))" } ?? "")")
            lines.append("  auto_create_group: \(output.autoCreateGroup ? "on" : "off")\(output.logKey.map { ", log_key \($0)" } ?? "")")
        }
        text = lines.joined(separator: "\n")
    }

    private static func describe(_ part: RecordTemplate.Part) -> String {
        switch part {
        case .literal(let text): return text
        case .field(let accessor): return "$" + accessor.path.joined(separator: ".")
        case .capture(let n): return "$\(n)"
        }
    }
}
