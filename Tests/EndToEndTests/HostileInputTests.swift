import Foundation
import XCTest

/// Bad input against the real binary: each case gets a logged error naming the
/// peer and a closed connection, nothing from the broken frame is stored, and
/// a well-behaved client sending at the same time loses nothing.
final class HostileInputTests: XCTestCase {
    private var directory: URL!

    override func setUpWithError() throws {
        directory = try TestPaths.temporaryDirectory()
    }

    override func tearDownWithError() throws {
        try? FileManager.default.removeItem(at: directory)
    }

    private let cases: [(name: String, logged: String)] = [
        ("truncated", "connection closed inside a frame"),
        ("not-a-frame", "data does not start a Forward frame"),
        ("malformed", "invalid msgpack type byte 0xc1"),
        ("huge-length", "exceeds the limit"),
        ("wrong-types", "the tag must be a UTF-8 string"),
        ("deep-nesting", "nesting deeper than 64 levels"),
        ("bad-gzip", "compressed entries: invalid gzip data"),
        ("gzip-bomb", "inflates past the limit"),
        ("zstd-bomb", "zstd data inflates past the limit"),
        ("many-entries", "more than Max_Entries_Per_Frame (100000) entries in one frame"),
        ("huge-record", "a record larger than Max_Record_Size (524288 bytes)"),
        ("non-utf8-key", "record keys must be UTF-8 strings"),
        ("size-mismatch", "option.size says 5 events, the frame has 2"),
        ("frame-too-large", "larger than Buffer_Max_Size"),
        ("idle", "idle for Idle_Timeout"),
    ]

    func testEveryKindOfBadInputClosesOnlyItsOwnConnection() throws {
        let fake = try FakeCloudWatch()
        let config = try ShipperProcess.tutorialConfig().replacingOccurrences(
            of: "    Tag_Prefix        ecs.", with: "    Tag_Prefix        ecs.\n    Idle_Timeout      2\n    Max_Record_Size   512K")
        let shipper = try ShipperProcess(config: config, directory: directory, endpoint: fake.endpoint)
        // A good client sends with acks the whole time.
        let good = try ChildProcess("python3", [TestPaths.tool("acking_forward_client.py"), "--port", "\(shipper.port)", "--connections", "2", "--max-seconds", "120"],
                                    name: "good client")
        for (name, logged) in cases {
            let bad = try ChildProcess("python3", [TestPaths.tool("hostile_forward_client.py"), "--port", "\(shipper.port)", "--case", name], name: "hostile \(name)")
            XCTAssertEqual(try bad.waitForExit(timeout: 60), 0, "\(name): \(bad.text)")
            try shipper.child.waitForLine("\(NSRegularExpression.escapedPattern(for: logged)).*peer=127\\.0\\.0\\.1:", timeout: 10)
        }
        let ackedBefore = good.text.components(separatedBy: "ACK ").count
        try good.waitForOutput(timeout: 30, "more acks after the bad input") { $0.components(separatedBy: "ACK ").count > ackedBefore + 20 }
        good.process.terminate()
        XCTAssertEqual(try good.waitForExit(timeout: 60), 0)
        let acked = Set(good.text.split(separator: "\n").compactMap { line -> String? in
            let parts = line.split(separator: " ")
            return parts.count == 3 && parts[0] == "ACK" ? "c\(parts[1]) line \(parts[2])" : nil
        })
        try eventually(timeout: 60, "every good record delivered") { acked.isSubset(of: Set(try fake.lines())) }
        XCTAssertFalse(try fake.lines().contains("hostile"), "nothing from a broken frame is stored")
        XCTAssertEqual(shipper.child.process.isRunning, true, "the shipper survived")
        // Two million empty entries once took 834 MB; the frame is refused long before that.
        let peakKiB = try ShipperFigures.memoryKiB(of: shipper.child.process.processIdentifier, "VmHWM:")
        XCTAssertGreaterThan(peakKiB, 0)
        XCTAssertLessThan(peakKiB, 200 * 1024, "peak RSS under 200 MiB through every bomb")
        XCTAssertEqual(try shipper.child.terminate(), 0)
    }

    /// Connections that never sent a frame give their places up to newcomers; containers that
    /// sent one and are quiet keep theirs, and only then is a newcomer refused.
    func testSilentConnectionsMakeRoomAtTheLimitAndQuietContainersKeepTheirPlaces() throws {
        let config = try ShipperProcess.tutorialConfig().replacingOccurrences(
            of: "    Tag_Prefix        ecs.", with: "    Tag_Prefix        ecs.\n    Max_Connections   20\n    Handshake_Timeout 1")
        let shipper = try ShipperProcess(config: config, directory: directory, endpoint: "http://127.0.0.1:9")
        // Silent for longer than Handshake_Timeout, so that they may be made to give way.
        let script = """
            import socket, sys, time, msgpack
            port, mode = int(sys.argv[1]), sys.argv[2]
            held = [socket.create_connection(("127.0.0.1", port)) for _ in range(20)]
            for n, conn in enumerate(held):
                conn.settimeout(10)
                if mode == "quiet":
                    # A container that logged once and then says nothing.
                    conn.sendall(msgpack.packb(["app", int(time.time()), {"log": "once"}, {"chunk": "q%d" % n}]))
                    conn.recv(64)
            time.sleep(1.5)
            print("READY", flush=True)
            time.sleep(30)
            """
        let silent = try ChildProcess("python3", ["-c", script, "\(shipper.port)", "silent"], name: "silent connections")
        try silent.waitForLine("READY")
        XCTAssertEqual(try sendDockerRecords(port: shipper.port, count: 3, ack: true).count, 3, "a newcomer gets in past 20 silent connections")
        try shipper.child.waitForLine(#"closing a connection that never sent a frame to make room: Max_Connections \(20\) reached.*peer="#)
        silent.kill9()

        let quiet = try ChildProcess("python3", ["-c", script, "\(shipper.port)", "quiet"], name: "quiet containers")
        try quiet.waitForLine("READY")
        let extra = try ChildProcess("python3", ["-c", """
            import socket
            s = socket.create_connection(("127.0.0.1", \(shipper.port)), timeout=10)
            print("CLOSED" if s.recv(1) == b"" else "OPEN")
            """], name: "one too many")
        XCTAssertEqual(try extra.waitForExit(timeout: 30), 0, extra.text)
        XCTAssertTrue(extra.text.contains("CLOSED"), extra.text)
        try shipper.child.waitForLine(#"closing connection: Max_Connections \(20\) reached.*peer="#)
        quiet.kill9()
        XCTAssertEqual(try shipper.child.terminate(), 0)
    }
}
