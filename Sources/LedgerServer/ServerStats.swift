import LedgerProtocol
import Atomics

/// The daemon's counters, updated from any thread without locks.
public final class ServerStats: Sendable {
    public let eventsReceived = ManagedAtomic<Int64>(0)
    public let eventsCommitted = ManagedAtomic<Int64>(0)
    public let eventsDuplicate = ManagedAtomic<Int64>(0)
    public let eventsRejected = ManagedAtomic<Int64>(0)
    public let eventsFailed = ManagedAtomic<Int64>(0)
    public let batchesCommitted = ManagedAtomic<Int64>(0)
    public let connectionsCurrent = ManagedAtomic<Int64>(0)
    public let connectionsTotal = ManagedAtomic<Int64>(0)
    public let protocolErrors = ManagedAtomic<Int64>(0)
    public let queries = ManagedAtomic<Int64>(0)

    public init() {}

    func add(_ counter: KeyPath<ServerStats, ManagedAtomic<Int64>>, _ amount: Int64 = 1) {
        self[keyPath: counter].wrappingIncrement(by: amount, ordering: .relaxed)
    }

    /// The counters in the order `ledger-rpc stats` prints them.
    func snapshot(queueDepth: Int, facts: [StatsResult.Fact]) -> StatsResult {
        func load(_ counter: KeyPath<ServerStats, ManagedAtomic<Int64>>) -> Int64 {
            self[keyPath: counter].load(ordering: .relaxed)
        }
        return StatsResult(
            counters: [
                .init("events_received", load(\.eventsReceived)),
                .init("events_committed", load(\.eventsCommitted)),
                .init("events_duplicate", load(\.eventsDuplicate)),
                .init("events_rejected", load(\.eventsRejected)),
                .init("events_failed", load(\.eventsFailed)),
                .init("batches_committed", load(\.batchesCommitted)),
                .init("queue_depth", Int64(queueDepth)),
                .init("connections_current", load(\.connectionsCurrent)),
                .init("connections_total", load(\.connectionsTotal)),
                .init("protocol_errors", load(\.protocolErrors)),
                .init("queries", load(\.queries)),
            ],
            facts: facts
        )
    }
}
