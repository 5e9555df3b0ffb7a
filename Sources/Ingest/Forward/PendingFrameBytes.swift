/// What one connection's decoded frames cost, claimed from the process-wide
/// `DecodeBudget` as they grow and given back once the sink has taken them.
///
/// Claims are counted here and reserved from the shared budget in steps of at
/// least `step`, so a connection decoding small records takes the budget's
/// lock once per few frames rather than once per record.
struct PendingFrameBytes {
    static let step = 16 * 1024

    private let budget: DecodeBudget
    /// Called, from whichever thread gives bytes back, once room may have come after a claim found none.
    /// Kept here rather than passed to every claim, which retained and released it for every record.
    private let whenRoom: @Sendable () -> Void
    private var reservation = DecodeBudget.Reservation()
    private var claimed = 0

    init(budget: DecodeBudget, whenRoom: @escaping @Sendable () -> Void) {
        self.budget = budget
        self.whenRoom = whenRoom
    }

    /// Counts `bytes` more if the budget has room for them now; `false` if it
    /// has not, and then `whenRoom` is called once room may have come (the
    /// connection keeps its place in line until it claims again or `release`s).
    mutating func claim(_ bytes: Int) -> Bool {
        claimed += bytes
        guard claimed > reservation.bytes else { return true }
        if budget.tryReserve(max(claimed - reservation.bytes, Self.step), into: &reservation, whenRoom: whenRoom) { return true }
        claimed -= bytes
        return false
    }

    /// Whether anything is reserved: a connection that holds nothing and still finds no room must wait.
    var holdsBytes: Bool { reservation.bytes > 0 }

    /// Gives every claimed byte back (and the place in line): the frames have been handed over, or dropped.
    mutating func release() {
        budget.release(&reservation)
        claimed = 0
    }
}
