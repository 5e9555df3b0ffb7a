/// A moment's UTC calendar date and time of day, computed from the epoch
/// without calendars or time zone lookups: what SigV4's `X-Amz-Date` and the
/// shipper's own log lines print, on every platform the same way.
public struct UTCDateTime: Equatable, Sendable {
    public let year: Int64
    public let month: Int64
    public let day: Int64
    public let hour: Int64
    public let minute: Int64
    public let second: Int64

    /// The calendar fields of `epochSeconds` (whole seconds since 1970-01-01T00:00:00Z).
    public init(epochSeconds: Int64) {
        let (days, secondOfDay) = epochSeconds.quotientAndRemainder(dividingBy: 86_400)
        // Civil date from days since 1970-01-01 (Howard Hinnant's algorithm).
        let z = days + 719_468 - (secondOfDay < 0 ? 1 : 0)
        let era = (z >= 0 ? z : z - 146_096) / 146_097
        let dayOfEra = z - era * 146_097
        let yearOfEra = (dayOfEra - dayOfEra / 1_460 + dayOfEra / 36_524 - dayOfEra / 146_096) / 365
        let dayOfYear = dayOfEra - (365 * yearOfEra + yearOfEra / 4 - yearOfEra / 100)
        let monthIndex = (5 * dayOfYear + 2) / 153
        day = dayOfYear - (153 * monthIndex + 2) / 5 + 1
        month = monthIndex < 10 ? monthIndex + 3 : monthIndex - 9
        year = yearOfEra + era * 400 + (month <= 2 ? 1 : 0)
        let second = (secondOfDay + 86_400) % 86_400
        hour = second / 3600
        minute = second / 60 % 60
        self.second = second % 60
    }

    /// `n` with at least `width` digits, zero-padded.
    public static func padded(_ n: Int64, _ width: Int) -> String {
        let digits = String(n)
        return String(repeating: "0", count: max(0, width - digits.count)) + digits
    }
}
