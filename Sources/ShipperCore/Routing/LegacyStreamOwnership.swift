import Spool

/// Which output sends a stream stored before streams belonged to outputs (a
/// spool of format 3 or older kept only the log group and stream, not the tag
/// that `Match` looks at): the rule delivery followed then, so an upgraded
/// spool sends every stream where the release before would have. That is the
/// first output whose `log_group_name` is the group or that has a
/// `log_group_template` (which may have made any group); the first output if
/// none is.
public enum LegacyStreamOwnership {
    public static func rule(for outputs: [CloudWatchOutputSettings]) -> LegacyStreamOwner {
        let candidates = outputs.map { (output: $0.output, group: $0.logGroupName, anyGroup: $0.logGroupTemplate != nil) }
        let fallback = outputs.first?.output ?? .first
        return { group in
            candidates.first { $0.group == group || $0.anyGroup }?.output ?? fallback
        }
    }
}
