import Foundation
import XCTest

/// One instance per spool: a second `shipper run` on the same `storage.path`
/// (started by hand beside the service, or a new task before the old one
/// stopped) refuses to start and leaves the running one's spool untouched.
final class SecondInstanceTests: XCTestCase {
    private var directory: URL!

    override func setUpWithError() throws {
        directory = try TestPaths.temporaryDirectory()
    }

    override func tearDownWithError() throws {
        try? FileManager.default.removeItem(at: directory)
    }

    func testASecondInstanceRefusesToStartAndTheFirstDeliversEveryRecordIntact() throws {
        let cloudWatch = try FakeCloudWatch()
        // Delivered records go at once, so maintenance removes shapes as soon as it may:
        // shapes closed by a second instance would be deleted under the first one's records.
        let config = try ShipperProcess.tutorialConfig(service: "    storage.keep_delivered 0\n")
        let first = try ShipperProcess(config: config, directory: directory, endpoint: cloudWatch.endpoint)
        XCTAssertEqual(try sendDockerRecords(port: first.port, count: 300, ack: true).count, 300)
        try eventually("the first 300 records delivered") { try cloudWatch.lines().count >= 300 }

        let second = try ShipperProcess.launch(config: config, directory: directory, endpoint: cloudWatch.endpoint, configName: "second.conf")
        let status = try second.waitForExit(timeout: 10)
        XCTAssertNotEqual(status, 0, "the second instance must not run")
        let spoolPath = directory.appendingPathComponent("spool/shipper.sqlite").path
        XCTAssertTrue(second.text.contains(spoolPath), "the error names the spool: \(second.text)")
        XCTAssertTrue(second.text.contains("process \(first.child.process.processIdentifier)"), "the error names the holder: \(second.text)")
        XCTAssertFalse(second.text.contains("listening"), "it must stop before opening anything: \(second.text)")

        XCTAssertEqual(try sendDockerRecords(port: first.port, count: 300, start: 300, ack: true).count, 300)
        try eventually("all 600 records delivered") { try cloudWatch.lines().count >= 600 }
        XCTAssertEqual(try first.child.terminate(), 0)
        let events = try cloudWatch.state().events
        let expected = #"{"container_id":"61f5e60000000000000000000000000000000000000000000000000000000000","container_name":"/ecs-windows-app-task-1-sample-container-c1","source":"stdout","log":"line 599","ecs_cluster":"FluentBit-cluster","ecs_container_name":"sample-container","ecs_task_arn":"arn:aws:ecs:us-east-1:012345678901:task/FluentBit-cluster/13f4d9e1a2b34c5d","ecs_task_definition_family":"windows-app-task","ecs_task_definition_version":"1"}"#
        XCTAssertTrue(events.contains { $0.message == expected }, "the newest record arrives whole")
        XCTAssertEqual(try cloudWatch.lines().sorted(), (0..<600).map { "line \($0)" }.sorted(), "every record once, with its message")
    }
}
