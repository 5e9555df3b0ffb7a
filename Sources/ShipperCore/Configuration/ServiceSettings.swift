import Foundation
import Spool

/// `[SERVICE]`: timing, logging and the spool.
public struct ServiceSettings: Sendable {
    /// `Flush`: the longest a record waits before its batch is sent, in seconds.
    public var flush: Double = 5
    /// `Grace`: seconds the uploaders get to finish on shutdown.
    public var grace: Double = 5
    /// `Log_Level`: error, warn, info, debug or trace.
    public var logLevel: String = "info"
    /// `storage.path`: the folder holding the spool database.
    public var storagePath: String = ServiceSettings.defaultStoragePath
    /// `storage.sync`: full (fsync every commit) or normal.
    public var storageSync: SpoolSyncMode = .full
    /// `storage.total_limit_size`: the spool's size at which ingest pauses; nil means only the disk limits it.
    public var storageTotalLimit: Int?
    /// `storage.keep_delivered`: how long delivered records stay for replays.
    public var storageKeepDelivered: Double = 3600
    /// `storage.disk_reserve`: intake pauses while the spool's filesystem has less free (README).
    public var storageDiskReserve: Int = Int(Spool.Configuration.defaultDiskReserveBytes)
    /// `storage.on_corruption`: move_aside (default) or stop.
    public var storageOnCorruption: SpoolCorruptionPolicy = .moveAside
    /// `ingest.max_pending_bytes`: what all connections together may hold decoded
    /// and not yet handed to the spool; a connection past it waits for room (README).
    public var ingestMaxPendingBytes = ServiceSettings.defaultIngestMaxPendingBytes
    /// `ingest.max_receive_bytes`: how far all connections' receive buffers may grow past
    /// their first size together, for frames still arriving; past it a connection inside a
    /// large frame is not read until room comes (README).
    public var ingestMaxReceiveBytes = ServiceSettings.defaultIngestMaxReceiveBytes
    /// `HTTP_Server`: serve health, metrics and status over HTTP.
    public var httpServer = false
    /// `HTTP_Listen`: 127.0.0.1 unless set (the endpoint tells about every log group).
    public var httpListen = "127.0.0.1"
    /// `HTTP_Port`: 2020, as Fluent Bit.
    public var httpPort: UInt16 = 2020

    /// 64 MiB: with the shared libraries (about 32 MiB), the spool's caches and
    /// the overshoot of one frame past the budget, the shipper stays far inside
    /// the ECS task's 512 MB, while 10 connections of full 6 MiB frames still
    /// decode side by side (README, "Configuration").
    public static let defaultIngestMaxPendingBytes = 64 << 20

    /// 64 MiB, as the decode budget: ten 6 MiB frames arrive side by side, while a
    /// thousand connections each inside a frame cannot hold gigabytes. A buffer's
    /// first 256 KiB (at most `Buffer_Chunk_Size`) is outside it, so the small frames
    /// Docker sends never wait for it.
    public static let defaultIngestMaxReceiveBytes = 64 << 20

    public static var defaultStoragePath: String {
        #if os(Windows)
        return "C:\\ProgramData\\shipper"
        #else
        return "/var/lib/shipper"
        #endif
    }

    init() {}

    init(_ reader: inout SectionReader, notices: inout [ConfigNotice]) throws {
        flush = try reader.seconds("Flush", default: flush)
        if flush == 0 { throw ConfigError("Flush must be more than 0 seconds", at: reader.entry("Flush")?.location) }
        grace = try reader.seconds("Grace", default: grace)
        if let entry = reader.entry("Log_Level") {
            let levels = ["off", "error", "warn", "warning", "info", "debug", "trace"]
            guard levels.contains(entry.value.lowercased()) else {
                throw ConfigError("Log_Level must be one of error, warn, info, debug, trace or off, not \"\(entry.value)\"", at: entry.location)
            }
            logLevel = entry.value.lowercased()
        }
        if let entry = reader.entry("Daemon"), try reader.bool("Daemon", default: false) {
            notices.append(ConfigNotice(level: .notice, location: entry.location, message: "Daemon On is ignored: the shipper runs in the foreground, as containers and services expect"))
        }
        if let entry = reader.entry("storage.path") { storagePath = entry.value }
        if let entry = reader.entry("storage.sync") {
            guard let mode = SpoolSyncMode(rawValue: entry.value.lowercased()) else {
                throw ConfigError("storage.sync must be full or normal, not \"\(entry.value)\"", at: entry.location)
            }
            storageSync = mode
        }
        if reader.entry("storage.total_limit_size") != nil {
            storageTotalLimit = try reader.size("storage.total_limit_size", default: 0)
        }
        storageKeepDelivered = try reader.duration("storage.keep_delivered", default: storageKeepDelivered)
        storageDiskReserve = try reader.size("storage.disk_reserve", default: storageDiskReserve, allowingZero: true)
        ingestMaxPendingBytes = try reader.size("ingest.max_pending_bytes", default: ingestMaxPendingBytes)
        ingestMaxReceiveBytes = try reader.size("ingest.max_receive_bytes", default: ingestMaxReceiveBytes)
        httpServer = try reader.bool("HTTP_Server", default: false)
        if let listen = reader.string("HTTP_Listen") { httpListen = listen }
        httpPort = UInt16(try reader.integer("HTTP_Port", default: Int(httpPort), range: 0...65535))
        if let entry = reader.entry("storage.on_corruption") {
            guard let policy = SpoolCorruptionPolicy(rawValue: entry.value.lowercased()) else {
                throw ConfigError("storage.on_corruption must be move_aside or stop, not \"\(entry.value)\"", at: entry.location)
            }
            storageOnCorruption = policy
        }
    }
}
