import ArgumentParser
import Foundation
import Ingest
import Network
import Records

/// `shipper cat`: sends standard input's lines to a forward input, like
/// `fluent-cat`, over plain TCP or TLS and through the shared-key handshake:
/// a client for checking an input's settings from the command line.
struct CatCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "cat",
        abstract: "Send each line of standard input as a record {\"log\": line} to a forward input.",
        discussion: "Exit codes: 0 when every line was sent (and acked with --ack), 3 when the connection or the handshake failed."
    )

    @Option(name: .shortAndLong, help: "The tag of the records.") var tag: String
    @Option(help: "The forward input's host.") var host = "127.0.0.1"
    @Option(help: "The forward input's port.") var port: UInt16 = 24224
    @Flag(help: "Ask for an ack for every line and wait for it, as Docker does with fluentd-request-ack.") var ack = false
    @Flag(help: "Speak TLS (the input's tls On).") var tls = false
    @Option(help: "With --tls: the CA certificates (PEM) to check the input's certificate against; the system's by default.") var tlsCaFile: String?
    @Flag(help: "With --tls: do not check the input's certificate (test inputs with self-signed certificates only).") var tlsNoVerify = false
    @Option(help: "The input's Shared_Key: run the handshake first.") var sharedKey: String?
    @Option(help: "With --shared-key: the hostname to give in PING.") var selfHostname = ProcessInfo.processInfo.hostName
    @Option(help: "With --shared-key: a Security.Users user name.") var username = ""
    @Option(help: "With --username: its password.") var password = ""

    func run() throws {
        let client: ForwardClient
        do {
            let context = tls ? try TLSClientContext(caFile: tlsCaFile, verify: !tlsNoVerify) : nil
            client = try ForwardClient(host: host, port: port, tls: context)
            if let sharedKey {
                try client.authenticate(sharedKey: sharedKey, hostname: selfHostname, username: username, password: password)
            }
        } catch {
            FileHandle.standardError.write(Data("cannot connect to \(host):\(port): \(error)\n".utf8))
            throw ShipperExitCode.unavailable.error
        }
        var sent = 0
        while let line = readLine(strippingNewline: true) {
            let chunk = ack ? UUID().uuidString : nil
            var option: [MessagePackPair] = []
            if let chunk { option.append(MessagePackPair(key: .string("chunk"), value: .string(chunk))) }
            do {
                try client.send(MessagePackEncoder.encoded(.array([.string(tag), .int(Int64(Date().timeIntervalSince1970)),
                                                                   .map([MessagePackPair(key: .string("log"), value: .string(line))]), .map(option)])))
                if let chunk {
                    let answer = try client.nextReply(while: "waiting for the ack of line \(sent + 1)")
                    guard answer == .map([MessagePackPair(key: .string("ack"), value: .string(chunk))]) else {
                        throw ValidationError("no ack for line \(sent + 1)")
                    }
                }
            } catch {
                FileHandle.standardError.write(Data("sent \(sent) lines, then: \(error)\n".utf8))
                throw ShipperExitCode.unavailable.error
            }
            sent += 1
        }
        FileHandle.standardError.write(Data("sent \(sent) lines\(ack ? ", all acked" : "")\n".utf8))
    }
}
