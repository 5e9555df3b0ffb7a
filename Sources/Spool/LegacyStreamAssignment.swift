/// Gives each stream carried over from a spool before format 4 its output,
/// inside the upgrade's transaction: the streams of a log group all go to the
/// output the caller's rule names for that group (`LegacyStreamOwner`), the
/// one that would have sent them before streams belonged to outputs.
enum LegacyStreamAssignment {
    /// Assigns every unassigned stream; returns how many went to each output, for the upgrade's notice.
    static func assign(_ database: SQLiteDatabase, owner: LegacyStreamOwner) throws -> [SpoolOutput: Int] {
        let groups = try database.prepare("SELECT log_group, count(*) FROM streams WHERE output = ? GROUP BY log_group")
        try groups.bind(1, Int64(SpoolSchema.unassignedOutput))
        var streamsOfGroup: [(group: String, streams: Int)] = []
        while try groups.step() { streamsOfGroup.append((groups.text(0), Int(groups.int64(1)))) }
        groups.reset()
        let update = try database.prepare("UPDATE streams SET output = ?1, output_name = ?2 WHERE output = ?3 AND log_group = ?4")
        var assigned: [SpoolOutput: Int] = [:]
        for (group, streams) in streamsOfGroup {
            let output = owner(group)
            defer { update.reset() }
            try update.bind(1, Int64(output.index))
            try update.bind(2, output.name)
            try update.bind(3, Int64(SpoolSchema.unassignedOutput))
            try update.bind(4, group)
            try update.step()
            assigned[output, default: 0] += streams
        }
        return assigned
    }
}
