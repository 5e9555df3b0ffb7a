import Foundation
import XCTest

/// The other ways in: Fluentd's UDP heartbeats on the forward port, and a Unix domain socket.
final class ListenerTests: XCTestCase {
    private var directory: URL!

    override func setUpWithError() throws {
        directory = try TestPaths.temporaryDirectory()
    }

    override func tearDownWithError() throws {
        try? FileManager.default.removeItem(at: directory)
    }

    func testUDPHeartbeatsOnTheForwardPortAreAnswered() throws {
        let shipper = try ShipperProcess(config: try ShipperProcess.tutorialConfig(), directory: directory, endpoint: "http://127.0.0.1:9")
        let script = """
            import socket
            s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
            s.settimeout(5)
            s.sendto(b"\\x00", ("127.0.0.1", \(shipper.port)))
            print("ANSWER", s.recvfrom(16)[0].hex())
            """
        let client = try ChildProcess("python3", ["-c", script], name: "heartbeat")
        XCTAssertEqual(try client.waitForExit(timeout: 30), 0, client.text)
        XCTAssertTrue(client.text.contains("ANSWER 00"), client.text)
        XCTAssertEqual(try shipper.child.terminate(), 0)
    }

    func testIPv6Listener() throws {
        let fake = try FakeCloudWatch()
        let config = try ShipperProcess.tutorialConfig().replacingOccurrences(of: "Listen            127.0.0.1", with: "Listen            ::1")
        let shipper = try ShipperProcess(config: config, directory: directory, endpoint: fake.endpoint)
        let script = """
            import socket, msgpack, time
            s = socket.create_connection(("::1", \(shipper.port)), timeout=10)
            s.sendall(msgpack.packb(["app", int(time.time()), {"log": "over ipv6",
                "com.amazonaws.ecs.task-arn": "arn:aws:ecs:us-east-1:1:task/c/0a0b", "com.amazonaws.ecs.container-name": "v6"}, {"chunk": "v6"}]))
            print("ANSWER", msgpack.unpackb(s.recv(64)))
            """
        let client = try ChildProcess("python3", ["-c", script], name: "ipv6 client")
        XCTAssertEqual(try client.waitForExit(timeout: 30), 0, client.text)
        XCTAssertTrue(client.text.contains("ANSWER {'ack': 'v6'}"), client.text)
        try eventually(timeout: 60, "the record delivered") { try fake.lines() == ["over ipv6"] }
        XCTAssertEqual(try shipper.child.terminate(), 0)
    }

    func testUnixSocketInputWithItsPermissions() throws {
        let fake = try FakeCloudWatch()
        let socketPath = directory.appendingPathComponent("forward.sock").path
        let config = try ShipperProcess.tutorialConfig().replacingOccurrences(
            of: "    Tag_Prefix        ecs.", with: "    Tag_Prefix        ecs.\n    Unix_Path         \(socketPath)\n    Unix_Perm         0600")
        let configPath = directory.appendingPathComponent("shipper.conf").path
        try config.write(toFile: configPath, atomically: true, encoding: .utf8)
        var environment = ProcessInfo.processInfo.environment.filter { !$0.key.hasPrefix("AWS_") }
        environment.merge(["AWS_ENDPOINT_URL": fake.endpoint, "AWS_EC2_METADATA_DISABLED": "true", "HOME": directory.path]) { $1 }
        environment.merge(ShipperProcess.testKeys) { $1 }
        let shipper = try ChildProcess(TestPaths.shipperBinary, ["-c", configPath, "--storage-path", directory.appendingPathComponent("spool").path],
                                       environment: environment, name: "shipper")
        try shipper.waitForLine("forward input listening unix_path=")
        let mode = try XCTUnwrap(try FileManager.default.attributesOfItem(atPath: socketPath)[.posixPermissions] as? Int)
        XCTAssertEqual(mode & 0o777, 0o600)
        let script = """
            import socket, msgpack, time
            s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
            s.connect("\(socketPath)")
            s.sendall(msgpack.packb(["app", int(time.time()), {"log": "over unix",
                "com.amazonaws.ecs.task-arn": "arn:aws:ecs:us-east-1:1:task/c/0a0b", "com.amazonaws.ecs.container-name": "u"}, {"chunk": "u1"}]))
            print("ANSWER", msgpack.unpackb(s.recv(64)))
            """
        let client = try ChildProcess("python3", ["-c", script], name: "unix client")
        XCTAssertEqual(try client.waitForExit(timeout: 30), 0, client.text)
        XCTAssertTrue(client.text.contains("ANSWER {'ack': 'u1'}"), client.text)
        try eventually(timeout: 60, "the record delivered") { try fake.lines() == ["over unix"] }
        XCTAssertEqual(try shipper.terminate(), 0)
    }
}
