import LedgerProtocol
import Testing

@testable import ledger_rpc

/// The verdict `ledger-rpc health` draws from a daemon's stats.
@Suite struct HealthVerdictTests {
    static func stats(available: Int64, backlog: Int64) -> StatsResult {
        StatsResult(
            counters: [.init("store_available", available), .init("backlog", backlog)],
            facts: [.init("server", "ledgerd/0.1.0"), .init("store", "sqlite:/var/lib/ledger.sqlite")])
    }

    @Test func okDegradedByBacklogAndDegradedByStore() {
        #expect(Health.verdict(Self.stats(available: 1, backlog: 10), maxBacklog: 10) == ("ok: ledgerd/0.1.0 on sqlite:/var/lib/ledger.sqlite, backlog 10", 0))
        let behind = Health.verdict(Self.stats(available: 1, backlog: 11), maxBacklog: 10)
        #expect(behind.status == 1 && behind.line == "degraded: a backlog of 11 events, above --max-backlog 10")
        let away = Health.verdict(Self.stats(available: 0, backlog: 3), maxBacklog: 10)
        #expect(away.status == 1 && away.line == "degraded: sqlite:/var/lib/ledger.sqlite is unavailable; 3 events held, not yet stored")
    }
}
