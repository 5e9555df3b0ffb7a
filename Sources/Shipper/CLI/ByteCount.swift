import Foundation

/// A byte count for people: 1.5 MiB.
struct ByteCount: CustomStringConvertible {
    let bytes: Int64
    init(_ bytes: Int64) { self.bytes = bytes }
    init(_ bytes: Int) { self.bytes = Int64(bytes) }

    var description: String {
        let units = ["B", "KiB", "MiB", "GiB", "TiB"]
        var value = Double(bytes)
        var unit = 0
        while value >= 1024 && unit < units.count - 1 {
            value /= 1024
            unit += 1
        }
        return unit == 0 ? "\(bytes) B" : String(format: "%.1f %@", value, units[unit])
    }
}
