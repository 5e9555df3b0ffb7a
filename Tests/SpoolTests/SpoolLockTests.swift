import Foundation
import XCTest
@testable import Spool

/// Invariant: one writer per spool. The lock is the OS's, so it goes with the
/// process (kill -9 included) and with `close()`.
final class SpoolLockTests: SpoolFileTestCase {
    func testASecondSpoolOnTheSameFileIsRefusedWithTheHoldersProcessID() throws {
        let spool = try Spool(configuration: .init(path: path))
        XCTAssertThrowsError(try Spool(configuration: .init(path: path))) { error in
            guard case SpoolError.locked(let spoolPath, let holder) = error else { return XCTFail("not a lock error: \(error)") }
            XCTAssertEqual(spoolPath, path)
            XCTAssertEqual(holder, "\(ProcessInfo.processInfo.processIdentifier)")
            XCTAssertTrue("\(error)".contains(path), "the message names the spool: \(error)")
        }
        spool.close()
        let reopened = try Spool(configuration: .init(path: path))
        reopened.close()
    }

    func testReadersNeedNoLock() throws {
        let spool = try Spool(configuration: .init(path: path))
        defer { spool.close() }
        try spool.append([SpoolAppend(chunk: nil, records: SpoolRecords([
            SpoolRecord(output: .first, logGroup: "g", logStream: "s", tag: "t", timeNanoseconds: 1, message: Array("m".utf8)),
        ]))], durable: true)
        let inspector = try SpoolInspector(path: path)
        XCTAssertEqual(try inspector.statistics().records, 1)
    }
}
