import ArgumentParser

/// `shipper spool stats|export|vacuum|salvage`: the parent command; each subcommand has its file
/// (`SpoolStatsCommand.swift`, `SpoolExportCommand.swift`, `SpoolVacuumCommand.swift`, `SalvageCommand.swift`).
struct SpoolCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "spool",
        abstract: "Look into the spool: its size and counts, an NDJSON export, reclaiming space, or salvaging a damaged one.",
        subcommands: [Stats.self, Export.self, Vacuum.self, SalvageCommand.self]
    )
}
