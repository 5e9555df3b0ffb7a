import ArgumentParser
import Foundation
import ShipperCore
#if canImport(FoundationNetworking)
import FoundationNetworking
#endif

/// `shipper status`: the backlog of every log group and stream.
struct StatusCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "status",
        abstract: "Undelivered records and bytes, oldest undelivered record, last delivery, last error and dead letters per output and stream.",
        discussion: """
            Asks the running shipper's monitoring endpoint (HTTP_Server On) when it answers, which adds each \
            stream's last error; otherwise reads the spool directly. Exit codes: 0, 1 for a bad config, 3 when \
            neither the endpoint nor the spool can be read.
            """
    )

    @OptionGroup var location: SpoolLocation
    @Option(help: "The monitoring endpoint, e.g. http://127.0.0.1:2020 (default: from the config's HTTP_* keys).") var url: String?
    @Flag(help: "JSON for scripts.") var json = false

    func run() async throws {
        let report = try await fetch()
        if json {
            let encoder = JSONEncoder()
            encoder.outputFormatting = [.sortedKeys, .prettyPrinted]
            encoder.dateEncodingStrategy = .iso8601
            print(String(decoding: try encoder.encode(report), as: UTF8.self))
            return
        }
        if let pressure = report.backpressure { print("backpressure: on (\(pressure))") }
        let now = Date()
        let rows = report.streams.map { s in [
            s.output ?? "-", s.logGroup, s.logStream, "\(s.undeliveredRecords)", "\(ByteCount(s.undeliveredBytes))",
            s.oldestUndelivered.map { Self.age(now.timeIntervalSince($0)) } ?? "-",
            s.lastDelivered.map { Self.age(now.timeIntervalSince($0)) + " ago" } ?? "-",
            "\(s.deadLetters)", s.lastError.map { String($0.prefix(60)) } ?? "-",
        ] }
        print(Table(header: ["OUTPUT", "LOG GROUP", "LOG STREAM", "UNDELIVERED", "BYTES", "OLDEST", "LAST DELIVERY", "DEAD", "LAST ERROR"], rows: rows).text)
    }

    private func fetch() async throws -> StatusReport {
        let endpoint = try url ?? location.configuration().flatMap { config in
            config.service.httpServer ? "http://\(config.service.httpListen == "0.0.0.0" ? "127.0.0.1" : config.service.httpListen):\(config.service.httpPort)" : nil
        }
        if let endpoint, let address = URL(string: endpoint + "/api/v1/status") {
            var request = URLRequest(url: address)
            request.timeoutInterval = 3
            if let (data, response) = try? await URLSession.shared.data(for: request),
               (response as? HTTPURLResponse)?.statusCode == 200 {
                let decoder = JSONDecoder()
                decoder.dateDecodingStrategy = .iso8601
                return try decoder.decode(StatusReport.self, from: data)
            }
            FileHandle.standardError.write(Data("no answer from \(endpoint); reading the spool instead\n".utf8))
        }
        let inspector = try location.inspector()
        return StatusReport(backpressure: nil, streams: try inspector.streamStatus().map { StatusReport.Stream($0) })
    }

    static func age(_ seconds: TimeInterval) -> String {
        switch seconds {
        case ..<120: return "\(Int(seconds))s"
        case ..<7200: return "\(Int(seconds / 60))m"
        case ..<172_800: return "\(Int(seconds / 3600))h"
        default: return "\(Int(seconds / 86_400))d"
        }
    }
}

/// Columns padded to their widest cell.
struct Table {
    let header: [String]
    let rows: [[String]]

    var text: String {
        let widths = header.indices.map { column in ([header] + rows).map { $0[column].count }.max() ?? 0 }
        return ([header] + rows).map { row in
            row.enumerated().map { $1.padding(toLength: widths[$0], withPad: " ", startingAt: 0) }.joined(separator: "  ")
                .trimmingCharacters(in: .whitespaces)
        }.joined(separator: "\n")
    }
}
