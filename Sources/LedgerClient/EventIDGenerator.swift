import Atomics
import Foundation
import LedgerProtocol

/// Makes the UUIDv7 ids of logged events without a system call per id.
///
/// The system generator costs a `getrandom` call per draw, which would put a
/// system call on every log call. Instead the random bits are SplitMix64 of a
/// per-process random seed plus an atomic counter: SplitMix64 is a bijection,
/// so ids from one process never repeat, and ids from two processes collide
/// only if their random seeds line up.
final class EventIDGenerator: Sendable {
    static let shared = EventIDGenerator()

    private let seed: UInt64
    private let counter = ManagedAtomic<UInt64>(0)

    init(seed: UInt64 = UInt64.random(in: .min ... .max)) {
        self.seed = seed
    }

    func next(unixMilliseconds: UInt64) -> UUID {
        let position = self.counter.loadThenWrappingIncrement(by: 2, ordering: .relaxed)
        var generator = SplitMix64(state: self.seed &+ position &* SplitMix64.increment)
        return UUID.ledgerV7(unixMilliseconds: unixMilliseconds, using: &generator)
    }
}
