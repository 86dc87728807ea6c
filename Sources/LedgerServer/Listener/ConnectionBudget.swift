import Atomics

/// How many connections one listener may serve at once, counted apart from the other listener's,
/// so that peers arriving over TCP can never take the slots local services need.
struct ConnectionBudget: Sendable {
    /// The count of this listener's connections being served.
    let current: ManagedAtomic<Int64>
    let maximum: Int
    /// The option that sets `maximum`, for the refusal's message.
    let option: String

    /// Takes a slot, or returns false when every slot is taken.
    func acquire() -> Bool {
        var taken = self.current.load(ordering: .relaxed)
        while taken < Int64(self.maximum) {
            let (exchanged, original) = self.current.weakCompareExchange(expected: taken, desired: taken + 1, ordering: .relaxed)
            if exchanged { return true }
            taken = original
        }
        return false
    }

    func release() {
        self.current.wrappingDecrement(ordering: .relaxed)
    }
}
