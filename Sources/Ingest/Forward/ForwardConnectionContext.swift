import Logging
import Records

/// What every connection of one forward input shares: its settings, where its
/// records go, and what it counts.
struct ForwardConnectionContext: Sendable {
    let configuration: ForwardServerConfiguration
    let pipeline: FilterPipeline
    let sink: IngestSink
    let logger: Logger
    let statistics: ForwardServerStatistics
    /// Joins Docker's split lines; shared by all connections, since a resent piece may come on a new one.
    let assembler: PartialMessageAssembler
    /// Bounds what all connections (of every input sharing it) hold decoded at once.
    let budget: DecodeBudget
    /// Bounds how far all connections' receive buffers grow past their first size, together
    /// (`ingest.max_receive_bytes`): the frames still arriving.
    let receiveBudget: DecodeBudget
    /// `Buffer_Max_Size`, `Max_Entries_Per_Frame` and `Max_Record_Size`, made once.
    let limits: ForwardFrame.Limits

    init(configuration: ForwardServerConfiguration, pipeline: FilterPipeline, sink: IngestSink, logger: Logger,
         statistics: ForwardServerStatistics, assembler: PartialMessageAssembler, budget: DecodeBudget, receiveBudget: DecodeBudget) {
        self.configuration = configuration
        self.pipeline = pipeline
        self.sink = sink
        self.logger = logger
        self.statistics = statistics
        self.assembler = assembler
        self.budget = budget
        self.receiveBudget = receiveBudget
        let decoder = MessagePackDecoder(maxLength: configuration.bufferMaxSize, maxDepth: 64)
        limits = ForwardFrame.Limits(maxInflatedBytes: configuration.bufferMaxSize, maxEntries: configuration.maxEntriesPerFrame,
                                     maxRecordBytes: configuration.maxRecordSize, decoder: decoder)
    }
}
