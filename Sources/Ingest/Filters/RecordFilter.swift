import Records
/// What a filter decided about one record.
public enum FilterOutcome: Equatable, Sendable {
    /// Carry on with the (possibly modified) record under the same tag.
    case pass
    /// Emit a copy under `tag`; drop the original unless `keepOriginal`.
    case reemit(tag: String, keepOriginal: Bool)
}

/// A filter stage of the pipeline, applied to records whose tag it matches.
///
/// A protocol so that each Fluent Bit filter plugin is one small type and the
/// pipeline does not need to know any of them.
public protocol RecordFilter: Sendable {
    /// The plugin name as written in the config (`modify`, `rewrite_tag`).
    var name: String { get }
    var match: TagPattern { get }
    func apply(tag: String, record: inout LogRecord) -> FilterOutcome
    /// What one connection keeps for this filter between its records, or nil.
    /// A connection's records come in runs from one container: a filter can
    /// remember its last answer there, with no lock, where a memo shared by
    /// every connection would need one per record.
    func makeConnectionMemo() -> AnyObject?
    /// `apply`, given this connection's memo (from `makeConnectionMemo`).
    func apply(tag: String, record: inout LogRecord, memo: AnyObject?) -> FilterOutcome
}

extension RecordFilter {
    public func makeConnectionMemo() -> AnyObject? { nil }

    public func apply(tag: String, record: inout LogRecord, memo: AnyObject?) -> FilterOutcome {
        apply(tag: tag, record: &record)
    }
}
