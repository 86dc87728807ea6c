import LedgerStore
import Logging
import ServiceLifecycle

/// Keeps `store_available` true to the store while nothing is being written.
///
/// The batch writer learns of an outage from its next commit; an idle daemon has none, so without
/// this `stats` would go on saying the store is fine while queries already fail. Each check is one
/// round trip (PostgreSQL) or a look at the store's own state (SQLite), and only runs when no events
/// are on their way to the store, where the writer's own result is the better witness.
struct StoreHealthCheck: Service {
    let store: any EventStore
    let stats: ServerStats
    let interval: Duration
    let logger: Logger

    func run() async throws {
        await cancelWhenGracefulShutdown {
            while !Task.isCancelled {
                do {
                    try await Task.sleep(for: self.interval)
                } catch {
                    return
                }
                guard self.stats.eventsInFlight.load(ordering: .relaxed) == 0 else { continue }
                await self.check()
            }
        }
    }

    func check() async {
        do {
            try await self.store.checkHealth()
            if self.stats.storeAvailable.exchange(1, ordering: .relaxed) == 0 {
                self.logger.notice("store is back", metadata: ["store": "\(self.store.description)"])
            }
        } catch {
            if self.stats.storeAvailable.exchange(0, ordering: .relaxed) == 1 {
                self.stats.add(\.storeOutages)
                self.logger.error("store unavailable", metadata: ["store": "\(self.store.description)", "error": "\(error)"])
            }
        }
    }
}
