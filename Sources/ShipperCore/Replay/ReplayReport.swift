import Spool

/// What a replay did, for the operator who ran it.
public struct ReplayReport: Sendable {
    /// Records read from the spool by the selection.
    public internal(set) var read = 0
    /// Events CloudWatch now holds (accepted, or already held from an earlier send).
    public internal(set) var sent = 0
    /// Records not sent because delivery would have sent them to dead letters
    /// (age, `event_max_size` with `oversize_events dead_letter`, refused by
    /// CloudWatch), counted by the kind their reason starts with ("tooOld",
    /// "oversize", "invalid"). Replay only reads the spool, so it writes no dead letters.
    public internal(set) var notSent: [String: Int] = [:]
    /// Why the replay stopped before the end of the selection; nil when it got there.
    public internal(set) var stopped: ReplayError?

    mutating func leftOut(_ letters: [DeadLetter]) {
        for letter in letters {
            notSent[String(letter.reason.prefix { $0 != ":" }), default: 0] += 1
        }
    }
}
