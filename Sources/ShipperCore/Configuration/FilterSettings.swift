import Ingest

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
