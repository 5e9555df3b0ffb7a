import Foundation
import XCTest

/// The forward input's event loops against the real binary: many connections
/// cost no threads, and a client that never reads its acks is closed alone
/// while others keep getting theirs.
final class EventLoopTests: XCTestCase {
    private var directory: URL!

    override func setUpWithError() throws {
        directory = try TestPaths.temporaryDirectory()
    }

    override func tearDownWithError() throws {
        try? FileManager.default.removeItem(at: directory)
    }

    private func threads(of shipper: ShipperProcess) throws -> Int {
        try FileManager.default.contentsOfDirectory(atPath: "/proc/\(shipper.child.process.processIdentifier)/task").count
    }

    /// 200 connections, each with an acked frame, are served by the same threads
    /// as one: a thread per connection would add 199.
    func testTwoHundredConnectionsAreServedByAFixedNumberOfThreads() throws {
        let fake = try FakeCloudWatch()
        let shipper = try ShipperProcess(config: try ShipperProcess.tutorialConfig(), directory: directory, endpoint: fake.endpoint)
        let proceed = directory.appendingPathComponent("proceed").path
        let finish = directory.appendingPathComponent("finish").path
        let script = """
            import os, socket, sys, time, msgpack
            port, proceed, finish = int(sys.argv[1]), sys.argv[2], sys.argv[3]
            def wait_for(path):
                deadline = time.time() + 120
                while not os.path.exists(path):
                    if time.time() > deadline:
                        sys.exit("no %s within 120 s" % path)
                    time.sleep(0.05)
            def acked(conns, first):
                for n, conn in enumerate(conns, first):
                    record = {"log": "conn %d" % n, "com.amazonaws.ecs.cluster": "loops", "com.amazonaws.ecs.container-name": "app",
                              "com.amazonaws.ecs.task-arn": "arn:aws:ecs:us-east-1:012345678901:task/loops/0000abcd",
                              "com.amazonaws.ecs.task-definition-family": "loops", "com.amazonaws.ecs.task-definition-version": "1"}
                    conn.sendall(msgpack.packb(["app", int(time.time()), record, {"chunk": "k%d" % n}]))
                for n, conn in enumerate(conns, first):
                    conn.settimeout(30)
                    unpacker = msgpack.Unpacker(raw=False)
                    while True:
                        unpacker.feed(conn.recv(1024))
                        answer = next(unpacker, None)
                        if answer is not None:
                            assert answer == {"ack": "k%d" % n}, answer
                            break
            conns = [socket.create_connection(("127.0.0.1", port))]
            acked(conns, 0)
            print("ONE ACKED", flush=True)
            wait_for(proceed)
            more = [socket.create_connection(("127.0.0.1", port)) for _ in range(199)]
            acked(more, 1)
            print("ALL ACKED", len(conns + more), flush=True)
            wait_for(finish)
            """
        let client = try ChildProcess("python3", ["-c", script, "\(shipper.port)", proceed, finish], name: "200 connections")
        try client.waitForLine("ONE ACKED", timeout: 60)
        let withOne = try threads(of: shipper)
        XCTAssertTrue(FileManager.default.createFile(atPath: proceed, contents: nil))
        try client.waitForLine("ALL ACKED 200", timeout: 120)
        let withTwoHundred = try threads(of: shipper)
        XCTAssertTrue(FileManager.default.createFile(atPath: finish, contents: nil))
        XCTAssertEqual(try client.waitForExit(timeout: 60), 0, client.text)
        print("shipper threads: \(withOne) with 1 connection, \(withTwoHundred) with 200")
        // Dispatch's own worker threads come and go; a thread per connection would be 199 more.
        XCTAssertLessThanOrEqual(withTwoHundred, withOne + 4, "threads grew with the connections: \(withOne) -> \(withTwoHundred)")
        try eventually(timeout: 60, "every connection's record delivered") {
            Set(try fake.lines()).isSuperset(of: (0..<200).map { "conn \($0)" })
        }
        XCTAssertEqual(try shipper.child.terminate(), 0)
    }

    /// While one client sends acked frames and never reads, its unsent acks grow
    /// past the bound and its connection is closed with a logged error naming
    /// the peer; another client sending at the same time gets each ack within 2 s.
    func testAClientThatNeverReadsIsClosedPastThePendingAcksBoundWhileAnotherGetsEveryAck() throws {
        let fake = try FakeCloudWatch()
        let shipper = try ShipperProcess(config: try ShipperProcess.tutorialConfig(), directory: directory, endpoint: fake.endpoint)
        // The socket's own buffers take a few MiB of acks before the bound counts any: it sends until it is closed.
        let silent = try ChildProcess("python3", [TestPaths.tool("unread_acks_client.py"), "--port", "\(shipper.port)", "--blocks", "4000"],
                                      name: "client that never reads")
        try silent.waitForLine("SENT 2", timeout: 60)
        let good = try ChildProcess("python3", [TestPaths.tool("docker_forward_client.py"), "--port", "\(shipper.port)", "--count", "3000",
                                                "--ack", "--ack-timeout", "2"], name: "acking client")
        try shipper.child.waitForLine(#"closing connection: the client does not read its acks \(\d+ bytes of them unsent, over the bound of 262144\).*peer=127\.0\.0\.1:"#,
                                      timeout: 60)
        try silent.waitForLine("ENDED", timeout: 30)
        XCTAssertEqual(try good.waitForExit(timeout: 120), 0, "an ack took longer than 2 s: \(good.text.suffix(2000))")
        let acked = good.text.split(separator: "\n").filter { $0.hasPrefix("{") }.count
        XCTAssertEqual(acked, 3000, "every record of the other client acked")
        silent.kill9()
        XCTAssertEqual(try shipper.child.terminate(), 0)
    }
}
