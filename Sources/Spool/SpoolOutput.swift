/// The output a stream belongs to, as the spool knows it: the output's place
/// among the config's outputs and its name (`Alias`, else `cloudwatch_logs.N`).
///
/// Two outputs may write the same log group and stream (one per region or
/// account); their records are different streams of the spool, each sent by
/// its own output. The spool takes this value from its caller and knows
/// nothing else of the output's settings.
public struct SpoolOutput: Hashable, Sendable {
    /// The output's index in the config: with the group and stream, a stream's identity.
    public var index: Int
    /// What status, metrics and replay call the output; kept up to date when the config renames it.
    public var name: String

    public init(index: Int, name: String) {
        self.index = index
        self.name = name
    }

    /// The only output of a config with one, named as Fluent Bit names it.
    public static let first = SpoolOutput(index: 0, name: "cloudwatch_logs.0")
}

/// Which output takes a stream stored before streams belonged to outputs
/// (formats 1 to 3 of the spool kept only its log group and stream): the
/// caller's rule, from the log group, applied once when the file is upgraded.
public typealias LegacyStreamOwner = @Sendable (_ logGroup: String) -> SpoolOutput
