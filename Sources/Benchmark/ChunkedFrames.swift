/// The frames one acking connection sends: Docker-shaped, each asking for an
/// ack, with lines that differ from frame to frame as a container's do (a
/// spool stores almost nothing of a line it has just seen in full, so frames
/// that all carry one line would measure too little of the writer's work).
/// They are encoded once, a pool of them, with a fixed-width chunk id whose
/// digits are rewritten for each frame sent: the client spends its CPU on
/// waiting, not on encoding.
struct ChunkedFrames {
    /// The chunk id's ten digits end each frame (its option map is its last item).
    private var pool: [[UInt8]]

    /// How many different frames a connection cycles through.
    static let poolSize = 64

    init(connection: Int, task: Int, recordsPerFrame: Int, logBytes: Int, time: Int64) {
        pool = (0..<Self.poolSize).map { index in
            DockerRecord.frame(records: recordsPerFrame, firstSequence: (connection * Self.poolSize + index) * recordsPerFrame,
                               logBytes: logBytes, time: time, task: task, chunk: "c\(connection)-0000000000")
        }
    }

    /// The frame to send as the connection's `number`th, its chunk id ending in `number`'s last ten digits.
    mutating func frame(_ number: Int) -> [UInt8] {
        let index = number % Self.poolSize
        var n = number
        for i in stride(from: pool[index].count - 1, through: pool[index].count - 10, by: -1) {
            pool[index][i] = UInt8(ascii: "0") + UInt8(n % 10)
            n /= 10
        }
        return pool[index]
    }
}
