import Atomics
import LedgerStore
import Logging
import NIOPosix
import ServiceLifecycle

/// The whole daemon: a store, the ingest queue, the batch writer and the listener,
/// run as one service group that shuts down gracefully on SIGTERM and SIGINT.
public struct LedgerDaemon: Sendable {
    public var configuration: LedgerServerConfiguration
    public var store: StoreLocation
    public var logger: Logger

    public init(configuration: LedgerServerConfiguration, store: StoreLocation, logger: Logger) {
        self.configuration = configuration
        self.store = store
        self.logger = logger
    }

    /// Runs until a shutdown signal; returns after every received event is committed.
    /// - Parameter onReady: called once every listener accepts connections.
    public func run(onReady: @escaping @Sendable (LedgerServer.Listening) -> Void = { _ in }) async throws {
        let store = try await self.store.open(limits: self.configuration.readLimits, createsDirectory: self.configuration.createsStoreDirectory, logger: self.logger)
        if case .memory = self.store {
            self.logger.warning("events are kept in memory only: an acknowledgement does not mean durable", metadata: ["store": "\(store.description)"])
        }
        let stats = ServerStats()
        let queue = IngestQueue(capacity: self.configuration.ingestQueueCapacity, byteCapacity: self.configuration.ingestQueueBytes)
        let hub = TailHub(capacity: self.configuration.tailBufferEvents, byteCapacity: self.configuration.tailBufferBytes)
        let writer = BatchWriter(
            queue: queue, store: store, stats: stats, batchSize: self.configuration.commitBatchSize,
            delay: self.configuration.commitDelay, hub: hub, logger: self.logger
        )
        let server = LedgerServer(
            configuration: self.configuration, queue: queue, store: store, stats: stats, hub: hub, logger: self.logger,
            onListening: onReady
        )
        // Services stop in reverse order: the listener first, so the writer still commits
        // what the connections received, then the writer drains the queue.
        let group = ServiceGroup(
            configuration: .init(
                services: [
                    .init(service: writer, successTerminationBehavior: .gracefullyShutdownGroup, failureTerminationBehavior: .gracefullyShutdownGroup),
                    .init(service: server, successTerminationBehavior: .gracefullyShutdownGroup, failureTerminationBehavior: .gracefullyShutdownGroup),
                    .init(
                        service: StoreHealthCheck(store: store, stats: stats, interval: self.configuration.storeCheckInterval, logger: self.logger),
                        successTerminationBehavior: .ignore, failureTerminationBehavior: .ignore),
                ],
                gracefulShutdownSignals: [.sigterm, .sigint],
                logger: self.logger
            )
        )
        do {
            try await group.run()
        } catch {
            await store.close()
            throw error
        }
        await store.close()
        // The accounting an operator checks after a shutdown: received = committed + duplicate + failed.
        self.logger.notice(
            "stopped",
            metadata: [
                "received": "\(stats.eventsReceived.load(ordering: .relaxed))",
                "committed": "\(stats.eventsCommitted.load(ordering: .relaxed))",
                "duplicate": "\(stats.eventsDuplicate.load(ordering: .relaxed))",
                "failed": "\(stats.eventsFailed.load(ordering: .relaxed))",
            ])
    }
}
