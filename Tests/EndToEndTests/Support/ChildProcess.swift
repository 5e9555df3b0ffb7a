import Foundation
import XCTest

/// A real child process (the shipper binary, moto_server, a Python client)
/// whose output a test can wait on, with every wait bounded.
final class ChildProcess: @unchecked Sendable {
    // Safe to share: `lock` guards `output` and `outputEnded`, written by the pipe's readability handler on
    // Foundation's thread and read by the test's; `process` (Foundation's, Sendable itself) and `name` are `let`s.
    let process = Process()
    private let lock = NSCondition()
    private var output = ""
    /// Set once the output pipe reached its end: everything the child wrote is in `output`.
    private var outputEnded = false
    let name: String

    init(_ executable: String, _ arguments: [String], environment: [String: String]? = nil, name: String? = nil, input: Data? = nil) throws {
        self.name = name ?? (executable as NSString).lastPathComponent
        if executable.hasPrefix("/") {
            process.executableURL = URL(fileURLWithPath: executable)
            process.arguments = arguments
        } else {
            process.executableURL = URL(fileURLWithPath: "/usr/bin/env")
            process.arguments = [executable] + arguments
        }
        if let environment { process.environment = environment }
        let pipe = Pipe()
        process.standardOutput = pipe
        process.standardError = pipe
        let stdin = Pipe()
        process.standardInput = input == nil ? FileHandle.nullDevice : stdin
        pipe.fileHandleForReading.readabilityHandler = { [weak self] handle in
            let data = handle.availableData
            guard let self else { return }
            self.lock.lock()
            if data.isEmpty {
                self.outputEnded = true
                handle.readabilityHandler = nil
            } else {
                self.output += String(decoding: data, as: UTF8.self)
            }
            self.lock.broadcast()
            self.lock.unlock()
        }
        try process.run()
        if let input {
            stdin.fileHandleForWriting.write(input)
            try stdin.fileHandleForWriting.close()
        }
    }

    deinit {
        if process.isRunning { process.interrupt(); killHard() }
    }

    var text: String {
        lock.lock()
        defer { lock.unlock() }
        return output
    }

    /// Waits until the output contains a line matching `pattern`; returns the first capture group (or the line).
    @discardableResult
    func waitForLine(_ pattern: String, timeout: TimeInterval = 30, file: StaticString = #filePath, line: UInt = #line) throws -> String {
        let regex = try NSRegularExpression(pattern: pattern)
        let deadline = Date().addingTimeInterval(timeout)
        var exitSeen = false
        lock.lock()
        defer { lock.unlock() }
        while true {
            for candidate in output.split(separator: "\n") {
                let text = String(candidate)
                if let match = regex.firstMatch(in: text, range: NSRange(text.startIndex..., in: text)) {
                    let range = match.numberOfRanges > 1 ? match.range(at: 1) : match.range
                    return Range(range, in: text).map { String(text[$0]) } ?? text
                }
            }
            if exitSeen {
                XCTFail("\(name) exited (status \(process.terminationStatus)) before printing /\(pattern)/; output:\n\(output)", file: file, line: line)
                throw ChildProcessError.exited
            }
            if Date() > deadline {
                XCTFail("\(name) did not print /\(pattern)/ within \(timeout)s; output:\n\(output)", file: file, line: line)
                throw ChildProcessError.timedOut
            }
            // After an exit, one more short wait lets the last output arrive.
            exitSeen = !process.isRunning
            _ = lock.wait(until: min(deadline, Date().addingTimeInterval(0.2)))
        }
    }

    /// Waits until `condition` holds for the output so far.
    func waitForOutput(timeout: TimeInterval = 30, _ what: String, file: StaticString = #filePath, line: UInt = #line, _ condition: (String) -> Bool) throws {
        let deadline = Date().addingTimeInterval(timeout)
        lock.lock()
        defer { lock.unlock() }
        while !condition(output) {
            if Date() > deadline {
                XCTFail("\(name): timed out after \(timeout)s waiting for \(what); output:\n\(output.suffix(2000))", file: file, line: line)
                throw ChildProcessError.timedOut
            }
            _ = lock.wait(until: min(deadline, Date().addingTimeInterval(0.2)))
        }
    }

    /// Sends SIGTERM and waits for the exit status.
    func terminate(timeout: TimeInterval = 30) throws -> Int32 {
        process.terminate()
        return try waitForExit(timeout: timeout)
    }

    /// kill -9: the crash the spool must survive.
    func kill9() {
        killHard()
        _ = try? waitForExit(timeout: 10)
    }

    /// SIGKILL. Windows has no signals: there Foundation's `terminate()` is
    /// `TerminateProcess`, which ends the process as abruptly.
    private func killHard() {
        #if os(Windows)
        process.terminate()
        #else
        kill(process.processIdentifier, SIGKILL)
        #endif
    }

    /// Waits for the child to exit, then (briefly) for the last of its output,
    /// so that a test reading `text` right after sees everything it printed.
    func waitForExit(timeout: TimeInterval = 60) throws -> Int32 {
        let deadline = Date().addingTimeInterval(timeout)
        while process.isRunning {
            guard Date() < deadline else { throw ChildProcessError.timedOut }
            Thread.sleep(forTimeInterval: 0.02)
        }
        // A grandchild holding the pipe open must not hold the test up: two seconds at most.
        let outputDeadline = Date().addingTimeInterval(2)
        lock.lock()
        while !outputEnded && lock.wait(until: outputDeadline) {}
        lock.unlock()
        return process.terminationStatus
    }
}

enum ChildProcessError: Error {
    case exited
    case timedOut
    case failed(String)
}

/// Where the repository and the built binaries are.
enum TestPaths {
    static let repository = URL(fileURLWithPath: #filePath)
        .deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()

    /// The `shipper` executable built next to the test bundle.
    static var shipperBinary: String {
        let testBinary = URL(fileURLWithPath: CommandLine.arguments[0]).resolvingSymlinksInPath()
        let candidates = [
            testBinary.deletingLastPathComponent().appendingPathComponent("shipper"),
            testBinary.deletingLastPathComponent().deletingLastPathComponent().appendingPathComponent("shipper"),
            Bundle.main.bundleURL.appendingPathComponent("shipper"),
        ]
        return (candidates.first { FileManager.default.isExecutableFile(atPath: $0.path) } ?? candidates[0]).path
    }

    static func tool(_ name: String) -> String {
        repository.appendingPathComponent("Tests/tools/\(name)").path
    }

    static func temporaryDirectory() throws -> URL {
        let url = FileManager.default.temporaryDirectory.appendingPathComponent("shipper-test-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: url, withIntermediateDirectories: true)
        return url
    }
}
