import LedgerProtocol
import Atomics

/// The daemon's counters, updated from any thread without locks.
public final class ServerStats: Sendable {
    public let eventsReceived = ManagedAtomic<Int64>(0)
    public let eventsCommitted = ManagedAtomic<Int64>(0)
    public let eventsDuplicate = ManagedAtomic<Int64>(0)
    public let eventsRejected = ManagedAtomic<Int64>(0)
    public let eventsFailed = ManagedAtomic<Int64>(0)
    /// Events removed by retention since start.
    public let eventsExpired = ManagedAtomic<Int64>(0)
    public let batchesCommitted = ManagedAtomic<Int64>(0)
    public let connectionsCurrent = ManagedAtomic<Int64>(0)
    /// Of `connectionsCurrent`, those on the Unix socket and those from TLS peers: each has its own limit.
    public let socketConnectionsCurrent = ManagedAtomic<Int64>(0)
    public let tlsConnectionsCurrent = ManagedAtomic<Int64>(0)
    /// TLS connections closed because their handshake did not finish in time.
    public let tlsHandshakesTimedOut = ManagedAtomic<Int64>(0)
    public let connectionsTotal = ManagedAtomic<Int64>(0)
    public let protocolErrors = ManagedAtomic<Int64>(0)
    public let queries = ManagedAtomic<Int64>(0)
    public let queriesTimedOut = ManagedAtomic<Int64>(0)
    public let requestsDenied = ManagedAtomic<Int64>(0)
    public let connectionsRefused = ManagedAtomic<Int64>(0)
    public let connectionsOverLimit = ManagedAtomic<Int64>(0)
    public let connectionsIdleClosed = ManagedAtomic<Int64>(0)
    public let framesTimedOut = ManagedAtomic<Int64>(0)
    /// Gap reports stored since start, and the events the clients said they dropped in them.
    public let gapReports = ManagedAtomic<Int64>(0)
    public let eventsDroppedByClients = ManagedAtomic<Int64>(0)
    /// 1 while the last write to the store succeeded (or none was tried), 0 during an outage.
    public let storeAvailable = ManagedAtomic<Int64>(1)
    public let storeOutages = ManagedAtomic<Int64>(0)
    public let storeRetries = ManagedAtomic<Int64>(0)
    /// Events taken from the queue and not yet acknowledged: the batch being written or retried, and
    /// one whose commit is still on its way to the disk.
    public let eventsInFlight = ManagedAtomic<Int64>(0)
    /// Bytes of answers owed to all connections and not yet handed to their sockets.
    public let answerBytesOwed = ManagedAtomic<Int64>(0)

    public init() {}

    func add(_ counter: KeyPath<ServerStats, ManagedAtomic<Int64>>, _ amount: Int64 = 1) {
        self[keyPath: counter].wrappingIncrement(by: amount, ordering: .relaxed)
    }

    /// Adds a count a peer chose, stopping at `Int64.max` rather than wrapping round to negative.
    func addSaturating(_ counter: KeyPath<ServerStats, ManagedAtomic<Int64>>, _ amount: Int64) {
        let atomic = self[keyPath: counter]
        var current = atomic.load(ordering: .relaxed)
        while true {
            let (sum, overflow) = current.addingReportingOverflow(amount)
            let (exchanged, original) = atomic.weakCompareExchange(
                expected: current, desired: overflow ? Int64.max : sum, ordering: .relaxed)
            if exchanged { return }
            current = original
        }
    }

    /// The counters in the order `ledger-rpc stats` prints them.
    func snapshot(
        queueDepth: Int, queueBytes: Int, tailSubscribers: Int, tailMissed: Int64, storeCounters: [StatsResult.Counter], facts: [StatsResult.Fact]
    ) -> StatsResult {
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
                .init("events_expired", load(\.eventsExpired)),
                .init("gap_reports", load(\.gapReports)),
                .init("events_dropped_by_clients", load(\.eventsDroppedByClients)),
                .init("batches_committed", load(\.batchesCommitted)),
                .init("queue_depth", Int64(queueDepth)),
                .init("queue_bytes", Int64(queueBytes)),
                .init("events_in_flight", load(\.eventsInFlight)),
                .init("backlog", Int64(queueDepth) + load(\.eventsInFlight)),
                .init("store_available", load(\.storeAvailable)),
                .init("store_outages", load(\.storeOutages)),
                .init("store_retries", load(\.storeRetries)),
                .init("connections_current", load(\.connectionsCurrent)),
                .init("connections_total", load(\.connectionsTotal)),
                .init("socket_connections_current", load(\.socketConnectionsCurrent)),
                .init("tls_connections_current", load(\.tlsConnectionsCurrent)),
                .init("tls_handshakes_timed_out", load(\.tlsHandshakesTimedOut)),
                .init("answer_bytes_owed", load(\.answerBytesOwed)),
                .init("protocol_errors", load(\.protocolErrors)),
                .init("queries", load(\.queries)),
                .init("queries_timed_out", load(\.queriesTimedOut)),
                .init("requests_denied", load(\.requestsDenied)),
                .init("connections_refused", load(\.connectionsRefused)),
                .init("connections_over_limit", load(\.connectionsOverLimit)),
                .init("connections_idle_closed", load(\.connectionsIdleClosed)),
                .init("frames_timed_out", load(\.framesTimedOut)),
                .init("tail_subscribers", Int64(tailSubscribers)),
                .init("tail_missed", tailMissed),
            ] + storeCounters,
            facts: facts
        )
    }
}
