import Foundation
import XCTest

/// The real `shipper` binary running a config written by the test.
final class ShipperProcess {
    let child: ChildProcess
    let port: Int

    /// Test keys in the environment, the usual way to run the shipper in tests.
    static let testKeys = ["AWS_ACCESS_KEY_ID": "test", "AWS_SECRET_ACCESS_KEY": "test"]

    /// Starts the shipper on `config` and waits until its forward input listens.
    ///
    /// The shipper sees no AWS settings of the machine running the tests: only
    /// `credentials`, the endpoint, a HOME of its own, and instance metadata off
    /// (tests never reach beyond loopback).
    init(config: String, directory: URL, endpoint: String, credentials: [String: String] = ShipperProcess.testKeys) throws {
        child = try Self.launch(config: config, directory: directory, endpoint: endpoint, credentials: credentials)
        port = Int(try child.waitForLine(#"forward input listening .*port=(\d+)"#, timeout: 30)) ?? 0
    }

    /// Starts `shipper run` on `config` with its spool in `directory/spool`, without waiting for it to listen.
    static func launch(config: String, directory: URL, endpoint: String, credentials: [String: String] = ShipperProcess.testKeys,
                       configName: String = "shipper.conf") throws -> ChildProcess {
        let configPath = directory.appendingPathComponent(configName).path
        try config.write(toFile: configPath, atomically: true, encoding: .utf8)
        var environment = ProcessInfo.processInfo.environment.filter { !$0.key.hasPrefix("AWS_") }
        environment["HOME"] = directory.path
        environment["AWS_EC2_METADATA_DISABLED"] = "true"
        environment["AWS_ENDPOINT_URL"] = endpoint
        environment.merge(credentials) { $1 }
        return try ChildProcess(TestPaths.shipperBinary, ["-c", configPath, "--storage-path", directory.appendingPathComponent("spool").path],
                                environment: environment, name: "shipper")
    }

    /// The tutorial's config, with only what a test must change: a loopback
    /// listener on an OS-chosen port, a short Flush, and a real region.
    static func tutorialConfig(flush: String = "0.2", port: Int = 0, service: String = "") throws -> String {
        let path = TestPaths.repository.appendingPathComponent("ops/config/cloudwatch.conf").path
        var text = try String(contentsOfFile: path, encoding: .utf8)
        let changes = [
            ("Listen            0.0.0.0", "Listen            127.0.0.1"),
            ("Port              24224", "Port              \(port)"),
            ("Flush         5", "Flush         \(flush)"),
            ("region              ${AWS_REGION}", "region              us-east-1"),
        ]
        for (old, new) in changes {
            guard text.contains(old) else { throw ChildProcessError.failed("ops/config/cloudwatch.conf no longer has \"\(old)\"") }
            text = text.replacingOccurrences(of: old, with: new)
        }
        return text.replacingOccurrences(of: "[SERVICE]\n", with: "[SERVICE]\n\(service)")
    }
}

/// Runs the Docker-shaped Python forward client to completion; returns the sequence numbers it got acks for (or sent).
@discardableResult
func sendDockerRecords(port: Int, count: Int, start: Int = 0, ack: Bool, extra: [String] = []) throws -> [Int] {
    var arguments = [TestPaths.tool("docker_forward_client.py"), "--port", "\(port)", "--count", "\(count)", "--start", "\(start)"] + extra
    if ack { arguments.append("--ack") }
    let client = try ChildProcess("python3", arguments, name: "docker_forward_client")
    let status = try client.waitForExit(timeout: 120)
    guard status == 0 else { throw ChildProcessError.failed("client exited \(status): \(client.text)") }
    return client.text.split(separator: "\n").compactMap { line -> Int? in
        guard line.hasPrefix("{"), let object = try? JSONSerialization.jsonObject(with: Data(line.utf8)) as? [String: Any] else { return nil }
        return object["seq"] as? Int
    }
}

/// Polls `condition` until it holds or `timeout` passes; the one bounded wait for eventual delivery.
func eventually(timeout: TimeInterval = 60, _ what: String, file: StaticString = #filePath, line: UInt = #line, _ condition: () throws -> Bool) throws {
    let deadline = Date().addingTimeInterval(timeout)
    while Date() < deadline {
        if try condition() { return }
        Thread.sleep(forTimeInterval: 0.25)
    }
    XCTFail("timed out after \(timeout)s waiting for \(what)", file: file, line: line)
    throw ChildProcessError.timedOut
}
