import Foundation
import Ingest

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
                let output = try CloudWatchOutputSettings(&reader, index: outputs.count, environment: environment, notices: &notices)
                if let same = outputs.first(where: { $0.output.name == output.output.name }) {
                    throw ConfigError("two outputs are called \(output.output.name) (outputs \(same.output.index) and \(output.output.index)); "
                                      + "give each its own Alias: metrics, status and replay tell them apart by it", at: section.location)
                }
                outputs.append(output)
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
