import Foundation
import XCTest

/// Every Forward protocol mode, built by the Python msgpack package, through the real binary.
final class ForwardModesTests: XCTestCase {
    func testAllFourModesAndEventTimeArriveWithTheirTimestamps() throws {
        let directory = try TestPaths.temporaryDirectory()
        defer { try? FileManager.default.removeItem(at: directory) }
        let fake = try FakeCloudWatch()
        let shipper = try ShipperProcess(config: try ShipperProcess.tutorialConfig(), directory: directory, endpoint: fake.endpoint)
        let client = try ChildProcess("python3", [TestPaths.tool("forward_modes_client.py"), "--port", "\(shipper.port)"], name: "forward modes")
        XCTAssertEqual(try client.waitForExit(timeout: 60), 0, client.text)
        XCTAssertEqual(client.text.components(separatedBy: "ACK ").count - 1, 6)
        try eventually(timeout: 60, "1,011 records") { try fake.lines().count == 1_011 }
        let large = (0..<1_000).map { "large \($0)" + String(repeating: "y", count: 1_000) }
        XCTAssertEqual(Set(try fake.lines()), Set(["message 0", "eventtime 0"] + ["forward", "packed", "compressed"].flatMap { mode in (0..<3).map { "\(mode) \($0)" } } + large),
                       "a frame larger than the first receive buffer arrives whole")
        let eventTime = try XCTUnwrap(try fake.state().events.first { $0.message.contains("eventtime 0") })
        XCTAssertEqual(eventTime.timestamp % 1000, 123, "EventTime's nanoseconds reach the millisecond timestamp")
        XCTAssertEqual(Set(try fake.state().events.map(\.stream)), ["task-out.0a1b2c3d.app"])
        XCTAssertEqual(try shipper.child.terminate(), 0)
    }
}
