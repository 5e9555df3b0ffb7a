import ArgumentParser

/// The exit codes of every `shipper` command, by name: each command's `--help`
/// and the README list the ones it can end with.
enum ShipperExitCode: Int32 {
    /// A clean shutdown, a valid config, or all that the command was asked done.
    case success = 0
    /// The config file is invalid; its file and line were printed.
    case invalidConfig = 1
    /// A second SIGTERM/SIGINT (or console event) ended the shipper without waiting.
    case stoppedAtOnce = 2
    /// What the command needs could not be had: the port is in use, the spool is
    /// locked or unreadable, a connection or handshake failed.
    case unavailable = 3
    /// The command ran but did not finish: a replay stopped on an error, or a
    /// salvage could read only part of its file.
    case incomplete = 4
    /// `spool salvage`: the file is not a spool SQLite can read at all.
    case notASpool = 5
    /// A usage error (bad options), as ArgumentParser reports it: EX_USAGE.
    case usage = 64

    /// Ends the command with this code.
    var error: ExitCode { ExitCode(rawValue) }
}
