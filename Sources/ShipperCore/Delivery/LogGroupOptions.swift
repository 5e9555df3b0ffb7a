/// How a sender creates what it writes to, from the output's options: the
/// uploaders and replay both take them from here, so a group replay creates
/// has the class, tags and retention delivery would have given it.
struct LogGroupOptions: Sendable {
    /// `auto_create_group`: create a missing log group (a missing stream is always created).
    var autoCreate: Bool
    /// `log_retention_days`: set on groups this shipper creates.
    var retentionDays: Int?
    /// `log_group_class`: STANDARD or INFREQUENT_ACCESS, for groups this shipper creates.
    var groupClass: String?
    /// `log_group_tags`: tags for groups this shipper creates.
    var tags: [String: String] = [:]

    init(_ output: CloudWatchOutputSettings) {
        autoCreate = output.autoCreateGroup
        retentionDays = output.logRetentionDays
        groupClass = output.logGroupClass
        tags = output.logGroupTags
    }
}
