import Foundation
import Logging
#if os(Windows)
import WinSDK
#elseif canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#elseif canImport(Darwin)
import Darwin
#endif

/// Waits for the request to stop: SIGTERM or SIGINT on POSIX systems, and on
/// Windows the console events Docker and the service manager send
/// (`CTRL_C_EVENT`, `CTRL_BREAK_EVENT`, `CTRL_CLOSE_EVENT`, `CTRL_SHUTDOWN_EVENT`).
/// A second one ends the process at once with `exitCodeOnSecondSignal`: the
/// spool is SQLite in WAL mode, so every acknowledged record is already durable.
enum ShutdownSignal {
    /// The exit status when a second stop request ends the process without waiting.
    static let exitCodeOnSecondSignal = ShipperExitCode.stoppedAtOnce.rawValue

    /// A write to a peer that went away (a socket, or OpenSSL writing for TLS)
    /// must be an error for that connection, not the end of the process.
    /// Windows has no SIGPIPE: a failed send just returns an error there.
    static func ignoreBrokenPipes() {
        #if !os(Windows)
        signal(SIGPIPE, SIG_IGN)
        #endif
    }

    /// Returns the name of the signal or event once one arrives; a second one exits the process.
    static func wait(logger: Logger) async -> String {
        await withCheckedContinuation { continuation in
            install(first: { name in continuation.resume(returning: name) }, again: { name in exitAtOnce(name, logger: logger) })
        }
    }

    private static func exitAtOnce(_ name: String, logger: Logger) -> Never {
        logger.warning("second \(name): exiting at once; every acknowledged record is in the spool, frames not yet acknowledged will be resent by their clients",
                       metadata: ["exit_code": "\(exitCodeOnSecondSignal)"])
        exit(exitCodeOnSecondSignal)
    }

    #if os(Windows)
    private static let state = WindowsState()

    // Safe to share: every field is read and written under `lock`.
    private final class WindowsState: @unchecked Sendable {
        let lock = NSLock()
        var first: ((String) -> Void)?
        var again: ((String) -> Void)?
        var fired = false
    }

    private static func install(first: @escaping (String) -> Void, again: @escaping (String) -> Void) {
        state.lock.lock()
        state.first = first
        state.again = again
        state.lock.unlock()
        SetConsoleCtrlHandler({ event in
            let name: String
            switch event {
            case DWORD(CTRL_C_EVENT): name = "CTRL_C_EVENT"
            case DWORD(CTRL_BREAK_EVENT): name = "CTRL_BREAK_EVENT"
            case DWORD(CTRL_CLOSE_EVENT): name = "CTRL_CLOSE_EVENT"
            case DWORD(CTRL_SHUTDOWN_EVENT): name = "CTRL_SHUTDOWN_EVENT"
            default: return false
            }
            // Windows runs each event's handler on a thread of its own, so a second event arrives while the first holds.
            ShutdownSignal.state.lock.lock()
            let callback = ShutdownSignal.state.fired ? ShutdownSignal.state.again : ShutdownSignal.state.first
            ShutdownSignal.state.fired = true
            ShutdownSignal.state.lock.unlock()
            callback?(name)
            // Windows ends the process as soon as this handler returns TRUE from a
            // close or shutdown event, so that handler never returns: the stop runs
            // to its end and exits the process, within the system's own deadline.
            // Ctrl-C and Ctrl-Break only need to be marked as handled.
            if event == DWORD(CTRL_CLOSE_EVENT) || event == DWORD(CTRL_SHUTDOWN_EVENT) {
                DispatchSemaphore(value: 0).wait()
            }
            return true
        }, true)
    }
    #else
    private static let sources = SignalSources()

    // Safe to share: every field is read and written under `lock`.
    private final class SignalSources: @unchecked Sendable {
        let lock = NSLock()
        var sources: [DispatchSourceSignal] = []
        var fired = false
    }

    private static func install(first: @escaping (String) -> Void, again: @escaping (String) -> Void) {
        for (number, name) in [(SIGTERM, "SIGTERM"), (SIGINT, "SIGINT")] {
            signal(number, SIG_IGN)
            let source = DispatchSource.makeSignalSource(signal: number, queue: .global())
            source.setEventHandler {
                sources.lock.lock()
                let isFirst = !sources.fired
                sources.fired = true
                sources.lock.unlock()
                // Signals that come before the handler runs arrive as one event, counted in `data`.
                if isFirst && source.data < 2 { first(name) } else { again(name) }
            }
            source.resume()
            sources.lock.lock()
            sources.sources.append(source)
            sources.lock.unlock()
        }
    }
    #endif
}
