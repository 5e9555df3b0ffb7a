import Foundation

/// Tests/tools/fake_cloudwatch.py on 127.0.0.1, on a port the OS picks:
/// a CloudWatch Logs endpoint that enforces the batch rules and injects faults.
final class FakeCloudWatch {
    let child: ChildProcess
    let endpoint: String

    init(_ arguments: [String] = []) throws {
        child = try ChildProcess("python3", [TestPaths.tool("fake_cloudwatch.py")] + arguments, name: "fake_cloudwatch")
        let scheme = arguments.contains("--tls-cert") ? "https" : "http"
        endpoint = "\(scheme)://127.0.0.1:\(try child.waitForLine(#"LISTENING (\d+)"#, timeout: 30))"
    }

    struct State: Decodable {
        struct Event: Decodable, Hashable {
            var group: String
            var stream: String
            var timestamp: Int64
            var message: String
        }
        var events: [Event]
        var faults: [String: Int]
        var accepted500_events: Int
        var access_keys: [String]
        var calls: [String: Int]
        var retention: [String: Int]
        /// Error answers by `__type`, injected or earned.
        var errors: [String: Int]
        struct GroupOptions: Decodable, Equatable {
            var tags: [String: String]
            var `class`: String
        }
        var group_options: [String: GroupOptions]
        /// The most PutLogEvents calls answered slowly at the same time.
        var max_concurrent_puts: Int
        /// Every PutLogEvents call: when it arrived (Unix seconds), its stream, its injected fault.
        struct Put: Decodable {
            var t: Double
            var stream: String?
            var fault: String?
            /// The timestamp (ms) of the call's oldest event.
            var oldest: Int64?
            /// How many events the call carried (nil for a call the fake stalled before reading it).
            var events: Int?
        }
        var puts: [Put]
        /// Requests whose client stopped sending mid-body (nothing was answered).
        struct TruncatedBody: Decodable {
            var t: Double
            var operation: String
            var received: Int
            var length: Int
        }
        var truncated_bodies: [TruncatedBody]
    }

    func state() throws -> State {
        if endpoint.hasPrefix("https") {
            // Read the state the way the tests trust the certificate: not at all.
            let script = "import json,ssl,urllib.request; print(urllib.request.urlopen('\(endpoint)/_state', context=ssl._create_unverified_context()).read().decode())"
            let reader = try ChildProcess("python3", ["-c", script], name: "fake state")
            guard try reader.waitForExit(timeout: 30) == 0 else { throw ChildProcessError.failed(reader.text) }
            return try JSONDecoder().decode(State.self, from: Data(reader.text.utf8))
        }
        let url = URL(string: endpoint + "/_state")!
        return try JSONDecoder().decode(State.self, from: Data(contentsOf: url))
    }

    /// Starts (true) or ends an outage: while it lasts every call is answered 503.
    func setOutage(_ on: Bool) throws {
        try toggle("_outage", on)
    }

    /// Starts (true) or ends a throttle: while it lasts every PutLogEvents is answered ThrottlingException.
    func setThrottling(_ on: Bool) throws {
        try toggle("_throttle", on)
    }

    private func toggle(_ path: String, _ on: Bool) throws {
        let script = "import urllib.request; urllib.request.urlopen(urllib.request.Request('\(endpoint)/\(path)/\(on ? "on" : "off")', method='PUT'))"
        let request = try ChildProcess("python3", ["-c", script], name: "fake \(path)")
        guard try request.waitForExit(timeout: 30) == 0 else { throw ChildProcessError.failed(request.text) }
    }

    /// The `log` field of every stored event, with repeats.
    func lines() throws -> [String] {
        try state().events.compactMap { event in
            (try? JSONSerialization.jsonObject(with: Data(event.message.utf8)) as? [String: Any])?["log"] as? String
        }
    }

    deinit {
        child.kill9()
    }
}
