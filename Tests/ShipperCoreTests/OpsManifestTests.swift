import Foundation
import XCTest
@testable import ShipperCore

/// The deployment files in `ops/` are what operators copy: they must parse and
/// name only what the shipper and Docker accept.
final class OpsManifestTests: XCTestCase {
    private func json(_ path: String) throws -> [String: Any] {
        let data = try Data(contentsOf: Repository.appendingPathComponent(path))
        return try XCTUnwrap(try JSONSerialization.jsonObject(with: data) as? [String: Any], path)
    }

    private func container(_ task: [String: Any]) throws -> [String: Any] {
        try XCTUnwrap((task["containerDefinitions"] as? [[String: Any]])?.first)
    }

    func testDaemonTaskRunsTheImageConfigOnPort24224WithTheSpoolOnTheHost() throws {
        let task = try json("ops/ecs/shipper-daemon-task-definition.json")
        let shipper = try container(task)
        let command = try XCTUnwrap((shipper["command"] as? [String])?.first)
        XCTAssertEqual(command, #"C:\entrypoint.ps1 -ConfigFile C:\ecs_windows_forward_daemon\cloudwatch.conf"#)
        // The image copies ops/config/ecs_windows_forward_daemon to C:\ecs_windows_forward_daemon: that config must load.
        let config = Repository.appendingPathComponent("ops/config/ecs_windows_forward_daemon/cloudwatch.conf").path
        let loaded = try ShipperConfiguration(file: config, environment: ["AWS_REGION": "us-east-1"])
        XCTAssertEqual(loaded.inputs.first?.port, 24224)
        let ports = try XCTUnwrap(shipper["portMappings"] as? [[String: Any]])
        XCTAssertEqual(ports.first?["containerPort"] as? Int, 24224)
        XCTAssertEqual(ports.first?["hostPort"] as? Int, 24224)
        let environment = try XCTUnwrap(shipper["environment"] as? [[String: String]])
        XCTAssertTrue(environment.contains { $0["name"] == "AWS_REGION" }, "the config's ${AWS_REGION} is set")
        let mount = try XCTUnwrap((shipper["mountPoints"] as? [[String: Any]])?.first)
        XCTAssertEqual(mount["containerPath"] as? String, #"C:\ProgramData\shipper"#)
        let volume = try XCTUnwrap((task["volumes"] as? [[String: Any]])?.first)
        XCTAssertEqual(volume["name"] as? String, mount["sourceVolume"] as? String)
        XCTAssertGreaterThan(shipper["stopTimeout"] as? Double ?? 0, loaded.service.grace, "docker stop waits longer than Grace")
        let entrypoint = try String(contentsOf: Repository.appendingPathComponent("ops/windows/entrypoint.ps1"), encoding: .utf8)
        XCTAssertTrue(entrypoint.contains(#"C:\ProgramData\shipper"#), "the entrypoint keeps the spool on the mounted folder")
    }

    func testApplicationTaskSendsTheTutorialsLabelsWithAcks() throws {
        let app = try container(try json("ops/ecs/windows-app-task-definition.json"))
        let logging = try XCTUnwrap(app["logConfiguration"] as? [String: Any])
        XCTAssertEqual(logging["logDriver"] as? String, "fluentd")
        let options = try XCTUnwrap(logging["options"] as? [String: String])
        let dockerOptions: Set = ["fluentd-address", "tag", "fluentd-async", "fluentd-request-ack", "fluentd-buffer-limit", "labels",
                                  "fluentd-retry-wait", "fluentd-max-retries", "fluentd-sub-second-precision", "env", "labels-regex", "env-regex"]
        XCTAssertTrue(Set(options.keys).isSubset(of: dockerOptions), "only options Docker's fluentd driver knows: \(options.keys)")
        XCTAssertEqual(options["fluentd-address"], "localhost:24224")
        XCTAssertEqual(options["fluentd-async"], "true")
        XCTAssertEqual(options["fluentd-request-ack"], "true")
        XCTAssertEqual(options["labels"]?.split(separator: ",").count, 5)
    }

    func testIAMPolicyCoversEveryCallTheShipperMakes() throws {
        let policy = try json("ops/ecs/iam-policy.json")
        let statement = try XCTUnwrap((policy["Statement"] as? [[String: Any]])?.first)
        let actions = Set(try XCTUnwrap(statement["Action"] as? [String]))
        let sources = try FileManager.default.contentsOfDirectory(atPath: Repository.appendingPathComponent("Sources/CloudWatchLogs").path)
        XCTAssertTrue(sources.contains("CloudWatchLogsClient.swift"))
        let client = try String(contentsOf: Repository.appendingPathComponent("Sources/CloudWatchLogs/CloudWatchLogsClient.swift"), encoding: .utf8)
        let regex = try NSRegularExpression(pattern: #"call\("([A-Za-z]+)""#)
        let operations = regex.matches(in: client, range: NSRange(client.startIndex..., in: client)).compactMap {
            Range($0.range(at: 1), in: client).map { "logs:" + client[$0] }
        }
        XCTAssertFalse(operations.isEmpty)
        XCTAssertTrue(Set(operations).isSubset(of: actions), "missing from the policy: \(Set(operations).subtracting(actions))")
    }

    func testEveryShippedConfigLoadsWithoutWarnings() throws {
        for path in ["ops/config/cloudwatch.conf", "ops/config/ecs_windows_forward_daemon/cloudwatch.conf"] {
            let configuration = try ShipperConfiguration(file: Repository.appendingPathComponent(path).path, environment: ["AWS_REGION": "us-east-1"])
            XCTAssertEqual(configuration.notices.filter { $0.level == .warning }, [], path)
        }
    }
}
