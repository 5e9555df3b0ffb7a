import Foundation
import XCTest

/// Lines of 16 KiB or more, split by Docker, arrive whole and byte-identical,
/// also when the shipper restarts between the pieces.
final class SplitLineTests: XCTestCase {
    private var directory: URL!

    override func setUpWithError() throws {
        directory = try TestPaths.temporaryDirectory()
    }

    override func tearDownWithError() throws {
        try? FileManager.default.removeItem(at: directory)
    }

    /// About 40 KiB of mixed 1- to 4-byte characters, so the 16,384-byte cuts fall inside characters.
    private func writeLine() throws -> (path: String, text: String) {
        let text = "abcd" + String(repeating: "é漢字🙂-abc ", count: 2_700)
        XCTAssertGreaterThan(text.utf8.count, 2 * 16_384)
        let bytes = Array(text.utf8)
        XCTAssertEqual(bytes[16_384] & 0xc0, 0x80, "the first cut falls inside a character")
        let path = directory.appendingPathComponent("line.txt").path
        try Data(bytes).write(to: URL(fileURLWithPath: path))
        return (path, text)
    }

    private func deliveredLogs(_ fake: FakeCloudWatch) throws -> [String] {
        try fake.lines()
    }

    func testASplitLineArrivesWholeAndByteIdentical() throws {
        let (path, text) = try writeLine()
        let fake = try FakeCloudWatch()
        let shipper = try ShipperProcess(config: try ShipperProcess.tutorialConfig(), directory: directory, endpoint: fake.endpoint)
        let client = try ChildProcess("python3", [TestPaths.tool("split_line_client.py"), "--port", "\(shipper.port)", "--line-file", path], name: "split line")
        XCTAssertEqual(try client.waitForExit(timeout: 60), 0, client.text)
        try eventually(timeout: 60, "the line delivered") { try deliveredLogs(fake).count == 1 }
        let event = try XCTUnwrap(try fake.state().events.first)
        XCTAssertEqual(try deliveredLogs(fake), [text])
        XCTAssertFalse(event.message.contains("partial_"), "the partial keys are removed from the joined line")
        XCTAssertEqual(event.stream, "task-out.abcdef01.long")
        XCTAssertEqual(try shipper.child.terminate(), 0)
    }

    func testAckedPiecesSurviveKillDashNineAndTheLineIsCompletedAfterwards() throws {
        let (path, text) = try writeLine()
        let fake = try FakeCloudWatch()
        var shipper = try ShipperProcess(config: try ShipperProcess.tutorialConfig(), directory: directory, endpoint: fake.endpoint)
        let port = shipper.port
        let first = try ChildProcess("python3", [TestPaths.tool("split_line_client.py"), "--port", "\(port)", "--line-file", path, "--pieces", "1,2"], name: "pieces 1-2")
        XCTAssertEqual(try first.waitForExit(timeout: 60), 0, first.text)
        shipper.child.kill9()
        shipper = try ShipperProcess(config: try ShipperProcess.tutorialConfig(port: port), directory: directory, endpoint: fake.endpoint)
        try shipper.child.waitForLine("restored pieces of split lines .*pieces=2")
        let rest = try ChildProcess("python3", [TestPaths.tool("split_line_client.py"), "--port", "\(port)", "--line-file", path, "--pieces", "3"], name: "piece 3")
        XCTAssertEqual(try rest.waitForExit(timeout: 60), 0, rest.text)
        try eventually(timeout: 60, "the line delivered") { try deliveredLogs(fake).count == 1 }
        XCTAssertEqual(try deliveredLogs(fake), [text])
        XCTAssertEqual(try shipper.child.terminate(), 0)
    }
}
