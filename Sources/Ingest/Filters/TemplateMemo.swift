/// The last text a `RecordTemplate` made, and the bytes it was made of.
///
/// The records of one container fill a template (a log group name, a
/// rewrite_tag tag) with the same values over and over. Making each name
/// afresh costs two allocations per record on every event loop;
/// remembering the last one lets those records share one string, and lets
/// later stages compare names by identity.
public struct TemplateMemo {
    private var bytes: [UInt8] = []
    private var text: String?
    /// Where the next name is filled in before it is compared with the last.
    var scratch: [UInt8] = []

    public init() {}

    /// The text of `scratch`: the last text when the bytes are the same.
    mutating func result() -> String {
        if let text, scratch == bytes { return text }
        let made = String(decoding: scratch, as: UTF8.self)
        text = made
        swap(&bytes, &scratch)
        return made
    }
}
