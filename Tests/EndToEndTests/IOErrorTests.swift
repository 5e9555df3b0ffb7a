import Foundation
import XCTest

/// I/O errors are not acknowledgements: the real binary's spool writer gets
/// an injected EIO from strace in the middle of a stream of acked frames.
final class IOErrorTests: XCTestCase {
    private var directory: URL!

    override func setUpWithError() throws {
        directory = try TestPaths.temporaryDirectory()
    }

    override func tearDownWithError() throws {
        try? FileManager.default.removeItem(at: directory)
    }

    /// The id of the process's thread named `name` (the spool writer names its OS thread).
    private func thread(named name: String, of pid: Int32) throws -> String {
        let tasks = "/proc/\(pid)/task"
        let found = try FileManager.default.contentsOfDirectory(atPath: tasks).first { task in
            (try? String(contentsOfFile: "\(tasks)/\(task)/comm", encoding: .utf8))?.trimmingCharacters(in: .whitespacesAndNewlines) == name
        }
        return try XCTUnwrap(found, "no thread named \(name) in \(pid)")
    }

    /// Attaches strace to the spool writer's thread alone (so that delivery's and
    /// housekeeping's own syscalls are left alone) with `injection`.
    private func injectIntoWriter(of shipper: ShipperProcess, _ syscall: String, _ injection: String) throws -> (ChildProcess, String) {
        guard FileManager.default.isExecutableFile(atPath: "/usr/bin/strace") else {
            throw XCTSkip("strace is not installed (apt-get install strace): the fault-injection test cannot run")
        }
        let writer = try thread(named: "spool-writer", of: shipper.child.process.processIdentifier)
        let log = directory.appendingPathComponent("strace.txt").path
        let strace = try ChildProcess("/usr/bin/strace", ["-p", writer, "-o", log, "-e", "trace=\(syscall)", "-e", "inject=\(syscall):\(injection)"], name: "strace")
        do {
            try strace.waitForLine("attached", timeout: 10)
        } catch {
            if strace.text.contains("Operation not permitted") {
                throw XCTSkip("ptrace is not permitted here (\(strace.text.trimmingCharacters(in: .whitespacesAndNewlines))): the fault-injection test cannot run")
            }
            throw error
        }
        return (strace, log)
    }

    /// Runs the Docker-shaped client (one acked frame at a time); returns the sequence numbers acked and its exit status.
    private func send(port: Int, start: Int, count: Int) throws -> (acked: [Int], status: Int32, output: String) {
        let client = try ChildProcess("python3", [TestPaths.tool("docker_forward_client.py"), "--port", "\(port)", "--start", "\(start)", "--count", "\(count)", "--ack"],
                                      name: "docker_forward_client")
        let status = try client.waitForExit(timeout: 120)
        let acked = client.text.split(separator: "\n").compactMap { line -> Int? in
            guard line.hasPrefix("{"), let object = try? JSONSerialization.jsonObject(with: Data(line.utf8)) as? [String: Any],
                  object["acked"] as? Bool == true else { return nil }
            return object["seq"] as? Int
        }
        return (acked, status, client.text)
    }

    /// One commit of the writer fails with `injection`; the client of that frame gets no ack and
    /// sends it again, as Docker does; every acked record is delivered exactly once; the shipper runs on.
    /// `osError`: the errno the commit failure's log must name (SQLite reports it only to its log, `SQLiteOSError`).
    private func checkOneFailedCommit(_ syscall: String, _ injection: String, sqliteCode: Int, osError: Int? = nil,
                                      file: StaticString = #filePath, line: UInt = #line) throws {
        let fake = try FakeCloudWatch()
        let shipper = try ShipperProcess(config: try ShipperProcess.tutorialConfig(), directory: directory, endpoint: fake.endpoint)
        let (strace, traceLog) = try injectIntoWriter(of: shipper, syscall, injection)
        defer { _ = try? strace.terminate(timeout: 10) }

        let first = try send(port: shipper.port, start: 0, count: 60)
        XCTAssertEqual(first.status, 1, "the client saw its connection closed without an ack: \(first.output)", file: file, line: line)
        XCTAssertTrue(first.output.contains("connection closed before ack"), first.output, file: file, line: line)
        XCTAssertEqual(first.acked, Array(0..<first.acked.count), "acks stop at the failed commit", file: file, line: line)
        let refused = first.acked.count
        XCTAssertLessThan(refused, 60)
        try shipper.child.waitForLine("spool commit failed.*\(osError.map { "os_error=\($0).*" } ?? "")sqlite_code=\(sqliteCode)", timeout: 10, file: file, line: line)

        // The refused frame again, then more: the writer takes them as if nothing happened.
        let again = try send(port: shipper.port, start: refused, count: 60 - refused)
        let after = try send(port: shipper.port, start: 1000, count: 40)
        XCTAssertEqual(again.status, 0, again.output, file: file, line: line)
        XCTAssertEqual(after.status, 0, after.output, file: file, line: line)
        let acked = (first.acked + again.acked + after.acked).map { "line \($0)" }
        XCTAssertEqual(acked.count, 100, file: file, line: line)

        try eventually(timeout: 60, "every acked record in CloudWatch") { try fake.lines().count >= acked.count }
        XCTAssertEqual(try fake.lines().sorted(), acked.sorted(), "every acked record exactly once, and the refused one only as resent", file: file, line: line)
        XCTAssertTrue(shipper.child.process.isRunning, "the shipper keeps running", file: file, line: line)
        _ = try strace.terminate(timeout: 10)  // strace detaches on SIGTERM and ends by it
        let trace = try String(contentsOfFile: traceLog, encoding: .utf8)
        XCTAssertEqual(trace.components(separatedBy: "(INJECTED)").count - 1, 1, "exactly one injected failure:\n\(trace.suffix(2000))", file: file, line: line)
        XCTAssertEqual(try shipper.child.terminate(), 0, file: file, line: line)
    }

    func testAFailedFsyncIsNotAcknowledgedAndLosesNothing() throws {
        try checkOneFailedCommit("fdatasync", "error=EIO:when=20", sqliteCode: 1034, osError: 5)
        XCTAssertTrue(try String(contentsOfFile: directory.appendingPathComponent("strace.txt").path, encoding: .utf8).contains("EIO"))
    }

    func testAFailedWriteIsNotAcknowledgedAndLosesNothing() throws {
        // Each commit writes a few WAL frames: the 60th write is inside a commit near the 20th frame.
        try checkOneFailedCommit("pwrite64", "error=EIO:when=60", sqliteCode: 778)
    }

    /// ENOSPC from a write is a full disk, not an I/O error: the writer keeps the frame,
    /// pauses intake and retries, and the client gets its ack late instead of never.
    func testAWriteRefusedForAFullDiskIsRetriedAndAckedLate() throws {
        let fake = try FakeCloudWatch()
        let shipper = try ShipperProcess(config: try ShipperProcess.tutorialConfig(), directory: directory, endpoint: fake.endpoint)
        let (strace, traceLog) = try injectIntoWriter(of: shipper, "pwrite64", "error=ENOSPC:when=60")
        defer { _ = try? strace.terminate(timeout: 10) }
        let sent = try send(port: shipper.port, start: 0, count: 100)
        XCTAssertEqual(sent.status, 0, sent.output)
        XCTAssertEqual(sent.acked, Array(0..<100), "every frame acked, the one of the refused write late")
        try shipper.child.waitForLine("disk full: holding the records and retrying", timeout: 10)
        try shipper.child.waitForLine("backpressure off", timeout: 10)
        try eventually(timeout: 60, "every acked record in CloudWatch") { try fake.lines().count >= 100 }
        XCTAssertEqual(try fake.lines().sorted(), (0..<100).map { "line \($0)" }.sorted(), "each once")
        _ = try strace.terminate(timeout: 10)
        let trace = try String(contentsOfFile: traceLog, encoding: .utf8)
        XCTAssertEqual(trace.components(separatedBy: "(INJECTED)").count - 1, 1, "exactly one injected failure:\n\(trace.suffix(2000))")
        XCTAssertEqual(try shipper.child.terminate(), 0)
    }

    /// The writer's inserts keep no statement journal (`RecordInserter`). With a log stream per
    /// task, each of a commit's inserts changes a leaf of both record indexes per stream, past the
    /// 64 KiB after which SQLite would write that journal to a temp file. strace fails every file
    /// the writer opens: every frame is still acked, and the writer opened none.
    func testACommitOverManyStreamsOpensNoTempFile() throws {
        let fake = try FakeCloudWatch()
        let shipper = try ShipperProcess(config: try ShipperProcess.tutorialConfig(), directory: directory, endpoint: fake.endpoint)
        let (strace, traceLog) = try injectIntoWriter(of: shipper, "openat", "error=EACCES")
        defer { _ = try? strace.terminate(timeout: 10) }
        let client = try ChildProcess("python3", [TestPaths.tool("many_streams_client.py"), "--port", "\(shipper.port)", "--tasks", "40", "--rounds", "150"],
                                      name: "many_streams_client")
        XCTAssertEqual(try client.waitForExit(timeout: 120), 0, client.text)
        XCTAssertEqual(client.text.split(separator: "\n").filter { $0.hasPrefix("ACKED ") }.count, 150, client.text.suffix(500).description)
        _ = try strace.terminate(timeout: 10)
        let trace = try String(contentsOfFile: traceLog, encoding: .utf8)
        XCTAssertFalse(trace.contains("openat("), "the writer opened a file:\n\(trace.prefix(2000))")
        XCTAssertEqual(try shipper.child.terminate(), 0)
    }
}
