import Foundation
import XCTest
@testable import Spool

final class SpoolMaintenanceTests: SpoolFileTestCase {
    /// A delivery of exactly `batchSize` records leaves only its row for the next
    /// call to remove: that call must go on to the next delivery, or eviction under
    /// backpressure stops a pass early (10,000-event batches are 5 x 2,000).
    func testEvictionGoesPastADeliveryWhoseRecordsWentWithTheBatchBefore() throws {
        let spool = try Spool(configuration: .init(path: path, keepDelivered: 3600))
        try spool.append([SpoolAppend(chunk: nil, records: SpoolRecords((0..<4).map {
            SpoolRecord(output: .first, logGroup: "g", logStream: "s", tag: "t", timeNanoseconds: Int64($0), message: Array("m\($0)".utf8))
        }))], durable: true)
        let stream = try XCTUnwrap(try spool.streamsWithPendingRecords().first)
        let ids = try spool.undelivered(stream: stream.id, limit: 10).map(\.id)
        try spool.markDelivered(stream: stream.id, through: ids[1])
        try spool.markDelivered(stream: stream.id, through: ids[3])
        spool.close()

        let database = try SQLiteDatabase(path: path, create: false)
        defer { database.close() }
        let maintenance = SpoolMaintenance(database: database, pressure: SpoolPressure { _, _, _ in },
                                           budget: DiskBudget(spoolPath: path, reserveBytes: 0, headroomBytes: 0),
                                           limits: .init(keepDelivered: 3600, totalLimitBytes: nil, batchSize: 2, interval: 3600), pruned: PrunedStreams(), logger: .init(label: "test"))
        defer { maintenance.stop() }
        XCTAssertEqual(try maintenance.removeDelivered(deliveredBefore: .max, maxBatches: 1), 2, "the first delivery's two records")
        XCTAssertEqual(try maintenance.removeDelivered(deliveredBefore: .max, maxBatches: 1), 2, "past the first delivery's row, the second's records")
        XCTAssertEqual(try database.integer("SELECT count(*) FROM records"), 0)
        XCTAssertEqual(try maintenance.removeDelivered(deliveredBefore: .max, maxBatches: 1), 0, "nothing left but the last row")
        XCTAssertEqual(try database.integer("SELECT count(*) FROM deliveries"), 0)
    }
}
