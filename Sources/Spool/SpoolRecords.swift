/// Records to append, packed: every tag and message in one byte buffer.
///
/// Connections hand the spool hundreds of thousands of records a second.
/// One buffer for everything a read brought in, instead of a message array
/// and three strings per record, saves an allocation on the connection
/// thread and a free on the writer thread for each of them; runs of records
/// with one destination and tag store that destination once and the tag's
/// bytes once. Each frame's records are a view (`frame(_:)`) sharing that
/// buffer.
public struct SpoolRecords: RandomAccessCollection, Sendable {
    /// An output's log group and stream the records go to.
    public struct Destination: Hashable, Sendable {
        public let output: SpoolOutput
        public let logGroup: String
        public let logStream: String
    }

    struct Entry: Sendable {
        let destination: Int
        let timeNanoseconds: Int64
        let tag: Range<Int>
        let message: Range<Int>
    }

    private(set) var destinations: [Destination] = []
    private(set) var bytes: [UInt8] = []
    private(set) var entries: [Entry] = []
    private var lastTag: (text: String, range: Range<Int>)?
    /// The entries this value stands for: all of them, or one frame's.
    public private(set) var startIndex = 0
    public private(set) var endIndex = 0

    public init() {}

    public init(_ records: [SpoolRecord]) {
        for record in records {
            append(output: record.output, logGroup: record.logGroup, logStream: record.logStream, tag: record.tag, timeNanoseconds: record.timeNanoseconds) {
                $0.append(contentsOf: record.message)
            }
        }
    }

    /// Makes room for `count` more records of about `bytes` bytes in all.
    public mutating func reserveCapacity(records count: Int, bytes byteCount: Int) {
        entries.reserveCapacity(entries.count + count)
        bytes.reserveCapacity(bytes.count + byteCount)
    }

    /// Appends a record whose message `writeMessage` appends to the buffer it is given.
    public mutating func append(output: SpoolOutput, logGroup: String, logStream: String, tag: String, timeNanoseconds: Int64,
                                message writeMessage: (inout [UInt8]) -> Void) {
        precondition(startIndex == 0 && endIndex == entries.count, "records are appended to the whole, not to a frame's view")
        let destination = index(of: output, logGroup, logStream)
        let tagRange: Range<Int>
        if let lastTag, lastTag.text == tag {
            tagRange = lastTag.range
        } else {
            let start = bytes.count
            bytes.append(contentsOf: tag.utf8)
            tagRange = start..<bytes.count
            lastTag = (tag, tagRange)
        }
        let start = bytes.count
        writeMessage(&bytes)
        entries.append(Entry(destination: destination, timeNanoseconds: timeNanoseconds, tag: tagRange, message: start..<bytes.count))
        endIndex = entries.count
    }

    /// The records at `positions` (one frame's), sharing this value's buffers.
    /// Take the views once every record is appended: appending while a view
    /// is alive would copy the buffers.
    public func frame(_ positions: Range<Int>) -> SpoolRecords {
        precondition(positions.lowerBound >= startIndex && positions.upperBound <= endIndex, "frame \(positions) outside \(startIndex)..<\(endIndex)")
        var view = self
        view.startIndex = positions.lowerBound
        view.endIndex = positions.upperBound
        return view
    }

    /// Bytes of the tags and messages these records hold, for the spool's queue bound.
    public var byteCount: Int {
        entries[startIndex..<endIndex].reduce(0) { $0 + $1.tag.count + $1.message.count }
    }

    /// The record at `position`, copied out (for tests and tools; the writer reads the packed form).
    public subscript(position: Int) -> SpoolRecord {
        let entry = entries[position]
        let destination = destinations[entry.destination]
        return SpoolRecord(output: destination.output, logGroup: destination.logGroup, logStream: destination.logStream,
                           tag: String(decoding: bytes[entry.tag], as: UTF8.self),
                           timeNanoseconds: entry.timeNanoseconds, message: Array(bytes[entry.message]))
    }

    /// Records come in runs for one stream, so only the last few destinations
    /// are searched; a destination seen longer ago is listed again, which
    /// costs the writer one more lookup and keeps this search bounded.
    private mutating func index(of output: SpoolOutput, _ logGroup: String, _ logStream: String) -> Int {
        let recent = destinations.indices.suffix(8).reversed()
        if let found = recent.first(where: {
            destinations[$0].output == output && destinations[$0].logGroup == logGroup && destinations[$0].logStream == logStream
        }) {
            return found
        }
        destinations.append(Destination(output: output, logGroup: logGroup, logStream: logStream))
        return destinations.count - 1
    }
}
