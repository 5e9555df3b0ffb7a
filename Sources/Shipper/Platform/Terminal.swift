#if os(Windows)
import WinSDK
import ucrt
#elseif canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#elseif canImport(Darwin)
import Darwin
#endif

/// Whether standard error is a terminal, so progress can redraw one line
/// there and print plain lines into files and pipes.
enum Terminal {
    static var standardErrorIsInteractive: Bool {
        #if os(Windows)
        return _isatty(_fileno(stderr)) != 0
        #else
        return isatty(STDERR_FILENO) != 0
        #endif
    }
}
