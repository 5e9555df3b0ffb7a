import Foundation
import XCTest

/// The Forward protocol handshake (`Shared_Key`, `Security.Users`) against a client built from the spec.
final class HandshakeTests: XCTestCase {
    func testSharedKeyAndUsersAreCheckedAndFailuresLoggedWithThePeer() throws {
        let directory = try TestPaths.temporaryDirectory()
        defer { try? FileManager.default.removeItem(at: directory) }
        let config = try ShipperProcess.tutorialConfig().replacingOccurrences(
            of: "    Tag_Prefix        ecs.",
            with: "    Tag_Prefix        ecs.\n    Shared_Key        s3cret\n    Self_Hostname     shipper.test\n    Security.Users    alice wonderland")
        let shipper = try ShipperProcess(config: config, directory: directory, endpoint: "http://127.0.0.1:9")
        func run(_ arguments: [String]) throws -> ChildProcess {
            let client = try ChildProcess("python3", [TestPaths.tool("handshake_client.py"), "--port", "\(shipper.port)"] + arguments, name: "handshake")
            _ = try client.waitForExit(timeout: 30)
            return client
        }
        let good = try run(["--shared-key", "s3cret", "--user", "alice", "--password", "wonderland", "--expect", "accept"])
        XCTAssertEqual(good.process.terminationStatus, 0, good.text)
        XCTAssertTrue(good.text.contains("ACK"), good.text)

        let wrongKey = try run(["--shared-key", "guess", "--user", "alice", "--password", "wonderland", "--expect", "reject"])
        XCTAssertEqual(wrongKey.process.terminationStatus, 0, wrongKey.text)
        XCTAssertTrue(wrongKey.text.contains("PONG False shared key mismatch"), wrongKey.text)
        try shipper.child.waitForLine(#"handshake failed: shared key mismatch.*peer=127\.0\.0\.1:"#)

        let wrongPassword = try run(["--shared-key", "s3cret", "--user", "alice", "--password", "nope", "--expect", "reject"])
        XCTAssertEqual(wrongPassword.process.terminationStatus, 0, wrongPassword.text)
        try shipper.child.waitForLine(#"handshake failed: username/password mismatch.*peer="#)

        // A client that skips the handshake gets nothing stored.
        let script = """
            import socket, msgpack, time
            s = socket.create_connection(("127.0.0.1", \(shipper.port)))
            s.settimeout(5)
            s.recv(4096)
            s.sendall(msgpack.packb(["app", int(time.time()), {"log": "sneaky"}, {"chunk": "x"}]))
            data = s.recv(4096)
            print("CLOSED" if b"ack" not in data else "ACKED")
            """
        let sneaky = try ChildProcess("python3", ["-c", script], name: "no handshake")
        XCTAssertEqual(try sneaky.waitForExit(timeout: 30), 0, sneaky.text)
        XCTAssertTrue(sneaky.text.contains("CLOSED"), sneaky.text)
        XCTAssertEqual(try shipper.child.terminate(), 0)
    }

    /// Before authenticating a client gets little: a PING of at most 4 KiB, within `Handshake_Timeout`.
    func testAnUnauthenticatedClientGetsFewBytesAndLittleTime() throws {
        let directory = try TestPaths.temporaryDirectory()
        defer { try? FileManager.default.removeItem(at: directory) }
        let config = try ShipperProcess.tutorialConfig().replacingOccurrences(
            of: "    Tag_Prefix        ecs.",
            with: "    Tag_Prefix        ecs.\n    Shared_Key        s3cret\n    Self_Hostname     shipper.test\n    Handshake_Timeout 1")
        let shipper = try ShipperProcess(config: config, directory: directory, endpoint: "http://127.0.0.1:9")
        let script = """
            import socket, msgpack, sys, time
            mode = sys.argv[1]
            s = socket.create_connection(("127.0.0.1", \(shipper.port)), timeout=10)
            s.recv(4096)
            if mode == "trickle":
                # A byte of a PING every 0.2 s: no read ever times out.
                for byte in msgpack.packb(["PING", "client", "salt", "0" * 128, "", ""])[:20]:
                    try:
                        s.sendall(bytes([byte]))
                    except OSError:
                        break
                    time.sleep(0.2)
            if mode == "large":
                # A PING of 8 KiB in which no length is over 4 KiB: two arrays of 4,096 small integers.
                s.sendall(b"\\x96\\xa4PING" + (b"\\xdc\\x10\\x00" + b"\\x01" * 4096) * 2)
            start = time.time()
            try:
                closed = s.recv(4096) == b""
            except ConnectionResetError:
                closed = True
            print("CLOSED after %.1f s" % (time.time() - start) if closed else "ANSWERED")
            """
        let large = try ChildProcess("python3", ["-c", script, "large"], name: "large ping")
        XCTAssertEqual(try large.waitForExit(timeout: 30), 0, large.text)
        XCTAssertTrue(large.text.contains("CLOSED after 0."), large.text)
        try shipper.child.waitForLine(#"handshake failed: more than 4096 bytes sent before authenticating.*peer="#)
        let silent = try ChildProcess("python3", ["-c", script, "silent"], name: "silent client")
        XCTAssertEqual(try silent.waitForExit(timeout: 30), 0, silent.text)
        XCTAssertTrue(silent.text.contains("CLOSED after 1."), silent.text)
        try shipper.child.waitForLine(#"handshake failed: no PING within Handshake_Timeout \(1\.0 s\).*peer="#)
        let trickle = try ChildProcess("python3", ["-c", script, "trickle"], name: "trickling client")
        XCTAssertEqual(try trickle.waitForExit(timeout: 30), 0, trickle.text)
        XCTAssertTrue(trickle.text.contains("CLOSED after"), trickle.text)
        try shipper.child.waitForOutput(timeout: 10, "a second handshake timeout") { $0.components(separatedBy: "no PING within Handshake_Timeout").count - 1 >= 2 }
        XCTAssertEqual(try shipper.child.terminate(), 0)
    }
}
