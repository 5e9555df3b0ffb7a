import Foundation
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
enum ShutdownSignal {
    /// A write to a peer that went away (a socket, or OpenSSL writing for TLS)
    /// must be an error for that connection, not the end of the process.
    /// Windows has no SIGPIPE: a failed send just returns an error there.
    static func ignoreBrokenPipes() {
        #if !os(Windows)
        signal(SIGPIPE, SIG_IGN)
        #endif
    }

    /// Returns the name of the signal or event once one arrives.
    static func wait() async -> String {
        await withCheckedContinuation { continuation in
            install { name in continuation.resume(returning: name) }
        }
    }

    #if os(Windows)
    private static let state = WindowsState()

    private final class WindowsState: @unchecked Sendable {
        let lock = NSLock()
        var callback: ((String) -> Void)?
    }

    private static func install(_ callback: @escaping (String) -> Void) {
        state.lock.lock()
        state.callback = callback
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
            ShutdownSignal.state.lock.lock()
            let callback = ShutdownSignal.state.callback
            ShutdownSignal.state.callback = nil
            ShutdownSignal.state.lock.unlock()
            callback?(name)
            // Windows ends the process when this handler returns from a close or
            // shutdown event, so hold it while the shipper commits and exits.
            Thread.sleep(forTimeInterval: 30)
            return true
        }, true)
    }
    #else
    private static let sources = SignalSources()

    private final class SignalSources: @unchecked Sendable {
        let lock = NSLock()
        var sources: [DispatchSourceSignal] = []
        var fired = false
    }

    private static func install(_ callback: @escaping (String) -> Void) {
        for (number, name) in [(SIGTERM, "SIGTERM"), (SIGINT, "SIGINT")] {
            signal(number, SIG_IGN)
            let source = DispatchSource.makeSignalSource(signal: number, queue: .global())
            source.setEventHandler {
                sources.lock.lock()
                let first = !sources.fired
                sources.fired = true
                sources.lock.unlock()
                if first { callback(name) }
            }
            source.resume()
            sources.lock.lock()
            sources.sources.append(source)
            sources.lock.unlock()
        }
    }
    #endif
}
