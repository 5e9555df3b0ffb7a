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

    /// Frames as Fluent Bit 2.x to 5.1 sends them by default (`[[EventTime, metadata], record]`
    /// entries, options with chunk, size and fluent_signal), gzip and zstd included: every record
    /// arrives with its exact JSON and its sub-second time.
    func testFluentBitFramesAndZstdArriveWithExactJSONAndSubSecondTimes() throws {
        let directory = try TestPaths.temporaryDirectory()
        defer { try? FileManager.default.removeItem(at: directory) }
        let fake = try FakeCloudWatch()
        let shipper = try ShipperProcess(config: try ShipperProcess.tutorialConfig(), directory: directory, endpoint: fake.endpoint)
        let client = try ChildProcess("python3", [TestPaths.tool("fluent_bit_forward_client.py"), "--port", "\(shipper.port)"], name: "fluent bit frames")
        XCTAssertEqual(try client.waitForExit(timeout: 60), 0, client.text)
        XCTAssertEqual(client.text.components(separatedBy: "ACK ").count - 1, 5, client.text)
        let expected = ["forward", "packed", "gzip", "zstd"].flatMap { mode in (0..<3).map { "\(mode) \($0)" } } + ["message 0"]
        try eventually(timeout: 60, "13 records") { try fake.lines().count == expected.count }
        XCTAssertEqual(Set(try fake.lines()), Set(expected))
        let events = try fake.state().events
        XCTAssertEqual(Set(events.map { $0.timestamp % 1000 }), [987], "EventTime's nanoseconds reach the millisecond timestamp")
        let zstd = #"{"log":"zstd 1","stream":"stdout","ecs_cluster":"fb","ecs_container_name":"app","ecs_task_arn":"arn:aws:ecs:us-east-1:012345678901:task/fb/5e1f0b17","ecs_task_definition_family":"fb","ecs_task_definition_version":"1"}"#
        XCTAssertTrue(events.contains { $0.message == zstd }, "no event is exactly \(zstd); got \(events.first?.message ?? "none")")
        XCTAssertEqual(Set(events.map(\.stream)), ["task-out.5e1f0b17.app"])
        XCTAssertEqual(try shipper.child.terminate(), 0)
    }
}
