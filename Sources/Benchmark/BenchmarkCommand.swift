import ArgumentParser

/// `shipper-bench`: the speed and memory figures in the README come from here,
/// never from timed unit tests. Run it with `-c release`.
@main
struct BenchmarkCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "shipper-bench",
        abstract: "Measure the spool and the ingest path of the shipper.",
        subcommands: [SpoolBenchmark.self, IngestBenchmark.self, StartupBenchmark.self, DrainBenchmark.self, ScrapeBenchmark.self]
    )
}
