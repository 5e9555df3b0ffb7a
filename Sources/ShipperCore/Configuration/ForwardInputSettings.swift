import Foundation
import Ingest
import Network

/// `[INPUT] Name forward`.
enum ForwardInputSettings {
    static func parse(_ reader: inout SectionReader) throws -> ForwardServerConfiguration {
        var settings = ForwardServerConfiguration()
        if let listen = reader.string("Listen") { settings.listen = listen }
        settings.port = UInt16(try reader.integer("Port", default: Int(settings.port), range: 0...65535))
        settings.tagPrefix = reader.string("Tag_Prefix") ?? ""
        settings.bufferChunkSize = try reader.size("Buffer_Chunk_Size", default: settings.bufferChunkSize)
        settings.bufferMaxSize = try reader.size("Buffer_Max_Size", default: settings.bufferMaxSize)
        if let path = reader.string("Unix_Path"), !path.isEmpty {
            settings.unixPath = path
            if let entry = reader.entry("Unix_Perm") {
                guard let mode = UInt32(entry.value, radix: 8), mode <= 0o777 else {
                    throw ConfigError("Unix_Perm must be an octal mode such as 0660, not \"\(entry.value)\"", at: entry.location)
                }
                settings.unixPermissions = mode
            }
        }
        if let key = reader.string("Shared_Key"), !key.isEmpty {
            var users: [String: String] = [:]
            for entry in reader.entries(["Security.Users"]) {
                let words = entry.value.split(whereSeparator: { $0 == " " || $0 == "\t" }).map(String.init)
                guard words.count == 2 else {
                    throw ConfigError("Security.Users expects USER PASSWORD, got \"\(entry.value)\"", at: entry.location)
                }
                users[words[0]] = words[1]
            }
            let hostname = reader.string("Self_Hostname") ?? ProcessInfo.processInfo.hostName
            settings.handshake = ForwardHandshake(sharedKey: key, selfHostname: hostname, users: users)
        }
        if try reader.bool("tls", default: false) {
            let certificate = try reader.required("tls.crt_file", what: "the PEM certificate chain for tls On")
            let key = try reader.required("tls.key_file", what: "the PEM private key for tls On")
            do {
                settings.tls = try TLSServerContext(certificateFile: certificate, keyFile: key)
            } catch let error as TLSError {
                throw ConfigError("tls: \(error)", at: reader.entry("tls.crt_file")?.location)
            }
        }
        settings.maxConnections = try reader.integer("Max_Connections", default: settings.maxConnections, range: 1...1_000_000)
        settings.eventLoops = try reader.integer("Event_Loops", default: settings.eventLoops, range: 1...64)
        settings.idleTimeout = try reader.seconds("Idle_Timeout", default: settings.idleTimeout)
        settings.maxEntriesPerFrame = try reader.integer("Max_Entries_Per_Frame", default: settings.maxEntriesPerFrame, range: 1...100_000_000)
        if reader.entry("Max_Record_Size") != nil { settings.maxRecordSize = try reader.size("Max_Record_Size", default: 0) }
        settings.handshakeTimeout = try reader.seconds("Handshake_Timeout", default: settings.handshakeTimeout)
        if settings.handshakeTimeout <= 0 {
            throw ConfigError("Handshake_Timeout must be more than 0 seconds", at: reader.entry("Handshake_Timeout")?.location)
        }
        settings.frameTimeout = try reader.seconds("Frame_Timeout", default: settings.frameTimeout)
        if settings.bufferMaxSize < settings.bufferChunkSize {
            throw ConfigError("Buffer_Max_Size (\(settings.bufferMaxSize) bytes) must not be smaller than Buffer_Chunk_Size (\(settings.bufferChunkSize) bytes)", at: reader.entry("Buffer_Max_Size")?.location)
        }
        return settings
    }
}
