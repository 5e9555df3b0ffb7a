import Foundation
import XCTest

/// `shipper check-config`, the command an operator runs on a config before deploying it.
final class CheckConfigTests: XCTestCase {
    private var directory: URL!

    override func setUpWithError() throws {
        directory = try TestPaths.temporaryDirectory()
    }

    override func tearDownWithError() throws {
        try? FileManager.default.removeItem(at: directory)
    }

    func testCheckConfigPrintsTheResolvedPipeline() throws {
        let path = TestPaths.repository.appendingPathComponent("Tests/ShipperCoreTests/Fixtures/tutorial-cloudwatch.conf").path
        let check = try ChildProcess(TestPaths.shipperBinary, ["check-config", "-c", path], name: "shipper check-config")
        XCTAssertEqual(try check.waitForExit(timeout: 30), 0, check.text)
        XCTAssertTrue(check.text.contains("input forward: listen 0.0.0.0:24224, tag prefix \"ecs.\""), check.text)
        XCTAssertTrue(check.text.contains("$ecs_task_arn =~ ^([a-z-:0-9]+)/([a-zA-Z0-9-_]+)/([a-z0-9]+)$ -> out.$3.$ecs_container_name"), check.text)
        XCTAssertTrue(check.text.contains("log group: template /aws/ecs/$ecs_cluster.$ecs_task_definition_family, fallback fallback-group"), check.text)
        XCTAssertTrue(check.text.contains("output cloudwatch_logs.0 (cloudwatch_logs): match out.*"), check.text)

        let broken = directory.appendingPathComponent("broken.conf").path
        try "[SERVICE]\n    Flush never\n".write(toFile: broken, atomically: true, encoding: .utf8)
        let failing = try ChildProcess(TestPaths.shipperBinary, ["check-config", "-c", broken], name: "shipper check-config")
        XCTAssertEqual(try failing.waitForExit(timeout: 30), 1)
        XCTAssertTrue(failing.text.contains("broken.conf:2: Flush must be a number of seconds"), failing.text)
    }
}
