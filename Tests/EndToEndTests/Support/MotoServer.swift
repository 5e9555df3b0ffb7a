import Foundation

/// moto's CloudWatch Logs server on 127.0.0.1, on a port the OS picks.
final class MotoServer {
    let child: ChildProcess
    let endpoint: String

    init() throws {
        child = try ChildProcess("python3", ["-m", "moto.server", "-H", "127.0.0.1", "-p", "0"], name: "moto_server")
        let port = try child.waitForLine(#"Running on http://127\.0\.0\.1:(\d+)"#, timeout: 60)
        endpoint = "http://127.0.0.1:\(port)"
    }

    /// Every event moto holds, read back with boto3.
    func events() throws -> [CloudWatchEvent] {
        let dump = try ChildProcess("python3", [TestPaths.tool("cloudwatch_dump.py"), "--endpoint", endpoint], name: "cloudwatch_dump")
        guard try dump.waitForExit(timeout: 60) == 0 else { throw ChildProcessError.failed(dump.text) }
        return try dump.text.split(separator: "\n").filter { $0.hasPrefix("{") }.map {
            try JSONDecoder().decode(CloudWatchEvent.self, from: Data($0.utf8))
        }
    }

    deinit {
        child.kill9()
    }
}

struct CloudWatchEvent: Decodable, Hashable {
    var group: String
    var stream: String
    var timestamp: Int64
    var message: String
}
