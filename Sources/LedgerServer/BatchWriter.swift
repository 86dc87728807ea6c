import LedgerProtocol
import LedgerStore
import Logging
import ServiceLifecycle

/// Drains the ingest queue into the store, one transaction per batch, and
/// completes each acknowledged request only after its transaction committed.
///
/// It is the last service to stop: on graceful shutdown it closes the queue and
/// commits everything already in it before returning.
public struct BatchWriter: Service {
    let queue: IngestQueue
    let store: any EventStore
    let stats: ServerStats
    let batchSize: Int
    let delay: Duration
    let logger: Logger

    public init(queue: IngestQueue, store: any EventStore, stats: ServerStats, batchSize: Int, delay: Duration, logger: Logger) {
        self.queue = queue
        self.store = store
        self.stats = stats
        self.batchSize = batchSize
        self.delay = delay
        self.logger = logger
    }

    public func run() async throws {
        // Cancellation closes the queue too, so a group torn down after a failed start still ends.
        await withTaskCancellationHandler {
            await withGracefulShutdownHandler {
                while let batch = await self.queue.nextBatch(maximumEvents: self.batchSize, delay: self.delay) {
                    await self.commit(batch)
                }
            } onGracefulShutdown: {
                self.queue.close()
            }
        } onCancel: {
            self.queue.close()
        }
        self.logger.debug("batch writer drained")
    }

    func commit(_ batch: [IngestQueue.Entry]) async {
        guard !batch.isEmpty else { return }
        let events = batch.count == 1 ? batch[0].events : batch.flatMap(\.events)
        do {
            let inserted = events.isEmpty ? 0 : try await self.store.append(events)
            self.stats.add(\.eventsCommitted, Int64(inserted))
            self.stats.add(\.eventsDuplicate, Int64(events.count - inserted))
            self.stats.add(\.batchesCommitted)
            for entry in batch {
                entry.completion?.succeed()
            }
        } catch {
            self.stats.add(\.eventsFailed, Int64(events.count))
            self.logger.error(
                "store rejected a batch; its events are not stored",
                metadata: ["events": "\(events.count)", "error": "\(error)"]
            )
            for entry in batch {
                entry.completion?.fail(error)
            }
        }
    }
}
