/// What one connection's decoded frames cost, claimed from the process-wide
/// `DecodeBudget` as they grow and given back once the sink has taken them.
///
/// Claims are counted here and reserved from the shared budget in steps of at
/// least `step`, so a connection decoding small records takes the budget's
/// lock once per few frames rather than once per record.
struct PendingFrameBytes {
    static let step = 16 * 1024

    private let budget: DecodeBudget
    private var reservation = DecodeBudget.Reservation()
    private var claimed = 0

    init(budget: DecodeBudget) {
        self.budget = budget
    }

    /// Counts `bytes` more, waiting for room in the budget when they go past
    /// what is reserved; throws `DecodeBudgetError` once `cancelled`.
    mutating func claim(_ bytes: Int, cancelled: () -> Bool) throws {
        claimed += bytes
        guard claimed > reservation.bytes else { return }
        try budget.reserve(max(claimed - reservation.bytes, Self.step), into: &reservation, cancelled: cancelled)
    }

    /// Gives every claimed byte back: the frames have been handed over, or dropped.
    mutating func release() {
        budget.release(&reservation)
        claimed = 0
    }
}
