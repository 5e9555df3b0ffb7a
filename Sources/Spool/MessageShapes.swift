import Foundation

/// What the records of one stream have in common, stored once.
///
/// Docker's records of one container repeat everything but their `log`
/// line: container id and name, source, the ECS labels, all as JSON around
/// it. Written in full, those 500 bytes of a 720-byte record are most of what
/// the spool writes to disk, twice (WAL, then database), and the disk is what
/// limits ingest. A shape is the start and end two records of a stream
/// share; a record that starts and ends that way is stored as its middle and
/// the shape's id, and readers put it back together (`SpoolSchema.message`).
///
/// Used by the spool's writer only, inside its transactions. A stream keeps
/// a few open shapes; one it lets go is closed (`last_id`, the newest record
/// id then), and maintenance deletes a closed shape once no record uses it.
/// Shapes still open from an earlier run are closed at start.
///
/// How many records use each shape is kept in `shape_uses`, moved in the
/// transaction that inserts or deletes them (`usedSQL`, `releasedSQL`).
/// An index of records by shape answered the same question, but with a
/// stream per container it cost a leaf page per stream in every commit, as
/// many as the records' own index: each a WAL frame written and synced. The
/// uses of a commit's shapes are a few rows next to each other, one page.
final class MessageShapes {
    /// Records now using shape ?1: ?2 more.
    static let usedSQL = "UPDATE shape_uses SET records = records + ?2 WHERE shape = ?1"
    /// Records deleted: ?2 fewer use shape ?1.
    static let releasedSQL = "UPDATE shape_uses SET records = records - ?2 WHERE shape = ?1"

    /// A shape the writer holds open is gone from the spool (deleted by
    /// housekeeping after something else closed it): the transaction must be
    /// rolled back and its records' shapes chosen again, or they would refer
    /// to a shape that no longer exists.
    struct ShapeRowGone: Error {
        let shapeID: Int64
    }

    /// How a record's message is stored: whole (`shape` nil) or `middle` with the shape's ends.
    struct Choice {
        let shape: Int64?
        let middle: Range<Int>
    }

    /// A shape must save at least this many bytes per record.
    static let minimumSaving = 64
    /// Open shapes per stream, most recently used first.
    static let shapesPerStream = 4
    /// Records a stream stores before it may make another shape, so that
    /// records with little in common do not make a shape each.
    static let recordsBetweenShapes = 16
    /// Streams remembered; past that the least recent one is let go.
    static let streamsRemembered = 256
    /// The longest start or end a shape keeps, and the longest message kept to
    /// compare the next one with: what the writer holds stays a few MiB
    /// however long the lines (Docker's labels around a line are about 500 bytes).
    static let maximumEnd = 1024
    static let maximumCompared = 8 * 1024

    private struct Shape {
        let id: Int64
        let prefix: [UInt8]
        let suffix: [UInt8]
        /// Made in the open transaction: gone if it rolls back.
        var uncommitted: Bool
    }

    /// A class, changed where it lies: reaching a struct in the dictionary through
    /// `streams[id]!` for every record cost two heap allocations (the frames of
    /// the dictionary's nested `_modify` accessors), half the writer's mallocs.
    private final class Stream {
        var shapes: [Shape] = []
        /// The last message stored whole: the next one is compared with it.
        var previous: [UInt8]?
        var sinceLastShape = recordsBetweenShapes
        var lastUsed: UInt64 = 0
    }

    private var streams: [Int64: Stream] = [:]
    /// Committed shapes let go, to close in the open transaction (or the next, if it rolls back).
    private var toClose: Set<Int64> = []
    /// Shapes made and let go in the open transaction: if it rolls back they never
    /// existed, and their ids will be given again to new shapes, which must stay open.
    private var toCloseMadeNow: Set<Int64> = []
    /// Records of the open transaction stored with each shape, written by `flush`.
    private var usesNow: [Int64: Int64] = [:]
    private var clock: UInt64 = 0
    private let database: SQLiteDatabase
    private let insert: SQLiteStatement
    private let insertUses: SQLiteStatement
    private let addUses: SQLiteStatement
    private let close: SQLiteStatement

    init(database: SQLiteDatabase) throws {
        insert = try database.prepare("INSERT INTO shapes(stream_id, prefix, suffix) VALUES(?, ?, ?)")
        insertUses = try database.prepare("INSERT INTO shape_uses(shape, records) VALUES(?, 0)")
        addUses = try database.prepare(Self.usedSQL)
        close = try database.prepare("UPDATE shapes SET last_id = (SELECT coalesce(max(seq), 0) FROM sqlite_sequence WHERE name = 'records') WHERE id = ? AND last_id IS NULL")
        // No record written from now on uses a shape of an earlier run.
        try database.execute("UPDATE shapes SET last_id = (SELECT coalesce(max(seq), 0) FROM sqlite_sequence WHERE name = 'records') WHERE last_id IS NULL")
        self.database = database
    }

    /// How to store `message`, a record of `stream`; may make a shape (inside the open transaction).
    func choose(for message: UnsafeRawBufferPointer, stream streamID: Int64) throws -> Choice {
        clock += 1
        let stream: Stream
        if let known = streams[streamID] {
            stream = known
        } else {
            if streams.count >= Self.streamsRemembered, let oldest = streams.min(by: { $0.value.lastUsed < $1.value.lastUsed })?.key {
                for shape in streams.removeValue(forKey: oldest)?.shapes ?? [] { letGo(shape) }
            }
            stream = Stream()
            streams[streamID] = stream
        }
        return try choose(for: message, stream: streamID, stream)
    }

    private func choose(for message: UnsafeRawBufferPointer, stream streamID: Int64, _ stream: Stream) throws -> Choice {
        stream.lastUsed = clock
        if let index = stream.shapes.firstIndex(where: { Self.fits(message, $0) }) {
            let shape = stream.shapes[index]
            if index > 0 { stream.shapes.insert(stream.shapes.remove(at: index), at: 0) }
            stream.sinceLastShape += 1
            usesNow[shape.id, default: 0] += 1
            return Choice(shape: shape.id, middle: shape.prefix.count..<(message.count - shape.suffix.count))
        }
        let whole = Choice(shape: nil, middle: 0..<message.count)
        guard stream.sinceLastShape >= Self.recordsBetweenShapes, let previous = stream.previous,
              let (prefix, suffix) = Self.commonEnds(message, previous) else {
            stream.previous = message.count <= Self.maximumCompared ? Array(message) : nil
            stream.sinceLastShape += 1
            return whole
        }
        let shape = Shape(id: try insertShape(stream: streamID, prefix: prefix, suffix: suffix), prefix: prefix, suffix: suffix, uncommitted: true)
        stream.shapes.insert(shape, at: 0)
        if stream.shapes.count > Self.shapesPerStream, let dropped = stream.shapes.popLast() {
            letGo(dropped)
        }
        stream.previous = nil
        stream.sinceLastShape = 0
        usesNow[shape.id, default: 0] += 1
        return Choice(shape: shape.id, middle: prefix.count..<(message.count - suffix.count))
    }

    /// Writes what the open transaction did to the shapes, once every row of it
    /// is inserted: the records that now use each, and the shapes let go closed.
    func flush() throws {
        for (id, records) in usesNow {
            defer { addUses.reset() }
            try addUses.bind(1, id)
            try addUses.bind(2, records)
            try addUses.step()
            guard database.changes == 1 else { throw ShapeRowGone(shapeID: id) }
        }
        for id in toClose.union(toCloseMadeNow) {
            defer { close.reset() }
            try close.bind(1, id)
            try close.step()
        }
    }

    /// The open transaction committed: its shapes are kept, the closed ones forgotten.
    func committed() {
        usesNow.removeAll(keepingCapacity: true)
        toClose.removeAll()
        toCloseMadeNow.removeAll()
        for stream in streams.values {
            for index in stream.shapes.indices { stream.shapes[index].uncommitted = false }
        }
    }

    /// The open transaction rolled back: the shapes it made are gone, and the
    /// committed ones are let go (closed by the next transaction), since
    /// which records used them is no longer known here.
    func rolledBack() {
        usesNow.removeAll(keepingCapacity: true)
        toCloseMadeNow.removeAll()
        for stream in streams.values {
            for shape in stream.shapes where !shape.uncommitted { toClose.insert(shape.id) }
        }
        streams.removeAll()
    }

    private func letGo(_ shape: Shape) {
        if shape.uncommitted {
            toCloseMadeNow.insert(shape.id)
        } else {
            toClose.insert(shape.id)
        }
    }

    private func insertShape(stream: Int64, prefix: [UInt8], suffix: [UInt8]) throws -> Int64 {
        defer { insert.reset() }
        try insert.bind(1, stream)
        try insert.bind(2, prefix)
        try insert.bind(3, suffix)
        try insert.step()
        let id = database.lastInsertRowID
        defer { insertUses.reset() }
        try insertUses.bind(1, id)
        try insertUses.step()
        return id
    }

    private static func fits(_ message: UnsafeRawBufferPointer, _ shape: Shape) -> Bool {
        let p = shape.prefix.count
        let s = shape.suffix.count
        guard message.count >= p + s, let start = message.baseAddress else { return false }
        return shape.prefix.withUnsafeBytes { p == 0 || memcmp(start, $0.baseAddress!, p) == 0 }
            && shape.suffix.withUnsafeBytes { s == 0 || memcmp(start + (message.count - s), $0.baseAddress!, s) == 0 }
    }

    /// The start and end `a` and `b` share, cut back to a `"` close by, so that
    /// a shape learnt from two JSON records ends where a string value starts
    /// and resumes where one ends, and fits their stream's other records too.
    /// Nil when they share less than `minimumSaving` bytes.
    private static func commonEnds(_ a: UnsafeRawBufferPointer, _ b: [UInt8]) -> (prefix: [UInt8], suffix: [UInt8])? {
        b.withUnsafeBytes { b in
            let limit = min(a.count, b.count)
            var p = 0
            while p < limit && a[p] == b[p] { p += 1 }
            var s = 0
            while s < limit - p && a[a.count - 1 - s] == b[b.count - 1 - s] { s += 1 }
            let quote = UInt8(ascii: "\"")
            p = min(p, maximumEnd)
            s = min(s, maximumEnd)
            // A quote near the end of what they share, not far back: a value both start alike.
            if let cut = (max(0, p - minimumSaving)..<p).last(where: { a[$0] == quote }) { p = cut + 1 }
            if let cut = ((a.count - s)..<min(a.count, a.count - s + minimumSaving)).first(where: { a[$0] == quote }) { s = a.count - cut }
            guard p + s >= minimumSaving else { return nil }
            return (Array(a[0..<p]), Array(a[(a.count - s)...]))
        }
    }
}
