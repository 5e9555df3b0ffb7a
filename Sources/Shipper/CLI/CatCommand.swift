import ArgumentParser
import Foundation
import Ingest

/// `shipper cat`: sends standard input's lines to a forward input, like `fluent-cat`.
struct CatCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "cat",
        abstract: "Send each line of standard input as a record {\"log\": line} to a forward input.",
        discussion: "Exit codes: 0 when every line was sent (and acked with --ack), 3 when the connection failed."
    )

    @Option(name: .shortAndLong, help: "The tag of the records.") var tag: String
    @Option(help: "The forward input's host.") var host = "127.0.0.1"
    @Option(help: "The forward input's port.") var port: UInt16 = 24224
    @Flag(help: "Ask for an ack for every line and wait for it, as Docker does with fluentd-request-ack.") var ack = false

    func run() throws {
        let socket: StreamSocket
        do {
            socket = try StreamSocket.connect(host: host, port: port)
        } catch {
            FileHandle.standardError.write(Data("cannot connect to \(host):\(port): \(error)\n".utf8))
            throw ExitCode(3)
        }
        defer { socket.shutdown() }
        var sent = 0
        var answer = [UInt8](repeating: 0, count: 512)
        while let line = readLine(strippingNewline: true) {
            let chunk = ack ? UUID().uuidString : nil
            var option: [MessagePackPair] = []
            if let chunk { option.append(MessagePackPair(key: .string("chunk"), value: .string(chunk))) }
            var encoder = MessagePackEncoder()
            encoder.encode(.array([.string(tag), .int(Int64(Date().timeIntervalSince1970)),
                                   .map([MessagePackPair(key: .string("log"), value: .string(line))]), .map(option)]))
            do {
                try socket.write(encoder.bytes)
                if ack {
                    let n = try answer.withUnsafeMutableBytes { try socket.read(into: $0) }
                    guard n > 0, String(decoding: answer[0..<n], as: UTF8.self).contains(chunk ?? "") else {
                        throw ValidationError("no ack for line \(sent + 1)")
                    }
                }
            } catch {
                FileHandle.standardError.write(Data("sent \(sent) lines, then: \(error)\n".utf8))
                throw ExitCode(3)
            }
            sent += 1
        }
        FileHandle.standardError.write(Data("sent \(sent) lines\(ack ? ", all acked" : "")\n".utf8))
    }
}
