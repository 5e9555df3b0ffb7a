/// One Docker-shaped frame that asks for an ack, encoded once with a
/// fixed-width chunk id whose digits are rewritten for each frame sent: the
/// client spends its CPU on waiting, not on encoding.
struct ChunkedFrame {
    private(set) var bytes: [UInt8]
    /// The chunk id's ten digits end the frame (its option map is its last item).
    private let digitsEnd: Int

    init(connection: Int, recordsPerFrame: Int, logBytes: Int, time: Int64) {
        bytes = DockerRecord.frame(records: recordsPerFrame, firstSequence: 0, logBytes: logBytes, time: time, chunk: "c\(connection)-0000000000")
        digitsEnd = bytes.count
    }

    /// Makes the chunk id end in `number`'s last ten digits.
    mutating func number(_ number: Int) {
        var n = number
        for i in stride(from: digitsEnd - 1, through: digitsEnd - 10, by: -1) {
            bytes[i] = UInt8(ascii: "0") + UInt8(n % 10)
            n /= 10
        }
    }
}
