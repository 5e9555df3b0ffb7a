import Foundation
import XCTest

/// `tls On` on the forward input, with a self-signed certificate made by `openssl` for the test.
final class TLSInputTests: XCTestCase {
    /// A self-signed certificate for `commonName` and 127.0.0.1, and its key, made by `openssl`.
    private func makeCertificate(in directory: URL, commonName: String) throws -> (certificate: String, key: String) {
        let certificate = directory.appendingPathComponent("cert.pem").path
        let key = directory.appendingPathComponent("key.pem").path
        let openssl = try ChildProcess("openssl", ["req", "-x509", "-newkey", "rsa:2048", "-nodes", "-subj", "/CN=\(commonName)", "-days", "1",
                                                   "-addext", "subjectAltName=IP:127.0.0.1", "-keyout", key, "-out", certificate], name: "openssl")
        XCTAssertEqual(try openssl.waitForExit(timeout: 60), 0, openssl.text)
        return (certificate, key)
    }

    func testTLSClientsAreServedAndPlainClientsRefused() throws {
        let directory = try TestPaths.temporaryDirectory()
        defer { try? FileManager.default.removeItem(at: directory) }
        let (certificate, key) = try makeCertificate(in: directory, commonName: "localhost")

        let fake = try FakeCloudWatch()
        let config = try ShipperProcess.tutorialConfig().replacingOccurrences(
            of: "    Tag_Prefix        ecs.",
            with: "    Tag_Prefix        ecs.\n    tls               On\n    tls.crt_file      \(certificate)\n    tls.key_file      \(key)")
        let shipper = try ShipperProcess(config: config.replacingOccurrences(of: "    tls               On", with: "    tls               On\n    Handshake_Timeout 1"),
                                         directory: directory, endpoint: fake.endpoint)
        // Connected and silent: without a deadline on the TLS handshake it would hold its thread for good.
        let silent = try ChildProcess("python3", ["-c", """
            import socket, time
            s = socket.create_connection(("127.0.0.1", \(shipper.port)), timeout=10)
            start = time.time()
            print("CLOSED after %.1f s" % (time.time() - start) if s.recv(1) == b"" else "ANSWERED")
            """], name: "silent tls client")
        XCTAssertEqual(try silent.waitForExit(timeout: 30), 0, silent.text)
        XCTAssertTrue(silent.text.contains("CLOSED after 1."), silent.text)
        let script = """
            import socket, ssl, msgpack, time
            context = ssl.create_default_context(cafile="\(certificate)")
            raw = socket.create_connection(("127.0.0.1", \(shipper.port)), timeout=10)
            s = context.wrap_socket(raw, server_hostname="127.0.0.1")
            s.sendall(msgpack.packb(["app", int(time.time()), {"log": "over tls",
                "com.amazonaws.ecs.task-arn": "arn:aws:ecs:us-east-1:1:task/c/0a0b", "com.amazonaws.ecs.container-name": "t"}, {"chunk": "t1"}]))
            print("ANSWER", msgpack.unpackb(s.recv(64)), s.version())
            # Quiet for longer than the connection's receive ticks: the session must carry on.
            time.sleep(0.6)
            s.sendall(msgpack.packb(["app", int(time.time()), {"log": "after a pause",
                "com.amazonaws.ecs.task-arn": "arn:aws:ecs:us-east-1:1:task/c/0a0b", "com.amazonaws.ecs.container-name": "t"}, {"chunk": "t2"}]))
            print("ANSWER", msgpack.unpackb(s.recv(64)))
            """
        let client = try ChildProcess("python3", ["-c", script], name: "tls client")
        XCTAssertEqual(try client.waitForExit(timeout: 30), 0, client.text)
        XCTAssertTrue(client.text.contains("ANSWER {'ack': 't1'} TLSv1."), client.text)
        XCTAssertTrue(client.text.contains("ANSWER {'ack': 't2'}"), client.text)
        try eventually(timeout: 60, "the records delivered") { Set(try fake.lines()) == ["over tls", "after a pause"] }

        let plain = try ChildProcess("python3", [TestPaths.tool("docker_forward_client.py"), "--port", "\(shipper.port)", "--count", "1", "--ack"], name: "plain client")
        XCTAssertNotEqual(try plain.waitForExit(timeout: 30), 0, "a plain client gets no ack")
        try shipper.child.waitForLine(#"closing connection: TLS handshake with 127\.0\.0\.1:\d+.*peer="#)
        XCTAssertEqual(Set(try fake.lines()), ["over tls", "after a pause"])
        XCTAssertEqual(try shipper.child.terminate(), 0)
    }

    /// `shipper cat` as a client of every input setting: TLS checked against the CA file, the
    /// shared key with a user, acks; a wrong key or an unchecked name is refused with exit code 3.
    func testShipperCatSpeaksTLSAndTheSharedKeyHandshake() throws {
        let directory = try TestPaths.temporaryDirectory()
        defer { try? FileManager.default.removeItem(at: directory) }
        let (certificate, key) = try makeCertificate(in: directory, commonName: "shipper.test")
        let fake = try FakeCloudWatch()
        let config = try ShipperProcess.tutorialConfig().replacingOccurrences(
            of: "    Tag_Prefix        ecs.",
            with: "    Tag_Prefix        ecs.\n    tls               On\n    tls.crt_file      \(certificate)\n    tls.key_file      \(key)\n    Shared_Key        s3cret\n    Security.Users    alice wonderland")
            // cat's records carry no ECS labels, so rewrite_tag leaves their tag: let the output take every tag.
            .replacingOccurrences(of: "    Match               out.*", with: "    Match               *")
        let shipper = try ShipperProcess(config: config, directory: directory, endpoint: fake.endpoint)
        func cat(_ arguments: [String], lines: [String]) throws -> ChildProcess {
            let child = try ChildProcess(TestPaths.shipperBinary, ["cat", "-t", "app", "--port", "\(shipper.port)", "--ack", "--tls"] + arguments,
                                         name: "shipper cat", input: Data(lines.map { $0 + "\n" }.joined().utf8))
            _ = try child.waitForExit(timeout: 30)
            return child
        }
        let good = try cat(["--tls-ca-file", certificate, "--shared-key", "s3cret", "--username", "alice", "--password", "wonderland"], lines: ["cat one", "cat two"])
        XCTAssertEqual(good.process.terminationStatus, 0, good.text)
        XCTAssertTrue(good.text.contains("sent 2 lines, all acked"), good.text)
        try eventually(timeout: 60, "the lines delivered") { Set(try fake.lines()) == ["cat one", "cat two"] }

        let wrongKey = try cat(["--tls-ca-file", certificate, "--shared-key", "guess", "--username", "alice", "--password", "wonderland"], lines: ["never"])
        XCTAssertEqual(wrongKey.process.terminationStatus, 3, wrongKey.text)
        XCTAssertTrue(wrongKey.text.contains("the server refused the handshake: shared key mismatch"), wrongKey.text)
        // The certificate names 127.0.0.1 and shipper.test, not localhost: a checked connection to "localhost" must fail.
        let wrongName = try ChildProcess(TestPaths.shipperBinary, ["cat", "-t", "app", "--host", "localhost", "--port", "\(shipper.port)", "--tls", "--tls-ca-file", certificate],
                                         name: "shipper cat", input: Data("never\n".utf8))
        XCTAssertEqual(try wrongName.waitForExit(timeout: 30), 3, wrongName.text)
        XCTAssertTrue(wrongName.text.contains("TLS handshake with localhost"), wrongName.text)
        XCTAssertEqual(Set(try fake.lines()), ["cat one", "cat two"])
        XCTAssertEqual(try shipper.child.terminate(), 0)
    }

    func testAMismatchedKeyIsAConfigError() throws {
        let directory = try TestPaths.temporaryDirectory()
        defer { try? FileManager.default.removeItem(at: directory) }
        let config = directory.appendingPathComponent("tls.conf").path
        try "[INPUT]\n    Name forward\n    tls On\n    tls.crt_file /nonexistent/cert.pem\n    tls.key_file /nonexistent/key.pem\n[OUTPUT]\n    Name cloudwatch_logs\n    region us-east-1\n    log_group_name g\n    log_stream_prefix p\n"
            .write(toFile: config, atomically: true, encoding: .utf8)
        let check = try ChildProcess(TestPaths.shipperBinary, ["check-config", "-c", config], name: "check-config")
        XCTAssertEqual(try check.waitForExit(timeout: 30), 1)
        XCTAssertTrue(check.text.contains("tls.conf:4: tls: loading tls.crt_file /nonexistent/cert.pem"), check.text)
    }
}
