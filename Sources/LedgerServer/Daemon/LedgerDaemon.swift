import Atomics
import Foundation
import LedgerFiles
import LedgerStore
import LedgerTree
import Logging
import NIOPosix
import ServiceLifecycle
import UnixSignals

/// The whole daemon: a store, the ingest queue, the batch writer and the listener,
/// run as one service group that shuts down gracefully on SIGTERM and SIGINT.
public struct LedgerDaemon: Sendable {
    public var configuration: LedgerServerConfiguration
    public var store: StoreLocation
    /// The key that signs the log's tree heads; nil keeps no tree (the memory store).
    public var signingKey: SigningKeyFile?
    public var logger: Logger

    public init(configuration: LedgerServerConfiguration, store: StoreLocation, signingKey: SigningKeyFile? = nil, logger: Logger) {
        self.configuration = configuration
        self.store = store
        self.signingKey = signingKey
        self.logger = logger
    }

    /// The daemon's services over an open store, wired and stopped as production runs them; the
    /// test harness runs the same group, with no signals.
    ///
    /// Services stop in reverse order: the listener first, so the writer still commits what the
    /// connections received, then the writer drains the queue.
    public static func serviceGroup(
        configuration: LedgerServerConfiguration, store: any EventStore, stats: ServerStats, signingKey: LogKey? = nil,
        lastTree: LastSignedTree? = nil, logger: Logger,
        gracefulShutdownSignals: [UnixSignal] = [.sigterm, .sigint], reloadsOnHangup: Bool = true,
        notifier: ServiceManagerNotifier? = nil, settingsReload: SettingsReload? = nil,
        onReady: @escaping @Sendable (LedgerServer.Listening) -> Void
    ) -> ServiceGroup {
        let queue = IngestQueue(
            capacity: configuration.ingestQueueCapacity, byteCapacity: configuration.ingestQueueBytes, hashesLeaves: signingKey != nil)
        let hub = TailHub(capacity: configuration.tailBufferEvents, byteCapacity: configuration.tailBufferBytes)
        let metrics = configuration.metricsListen == nil ? nil : LedgerMetrics()
        let writer = BatchWriter(
            queue: queue, store: store, stats: stats, batchSize: configuration.commitBatchSize, delay: configuration.commitDelay, hub: hub,
            metrics: metrics, logger: logger)
        let status = notifier.flatMap { $0.isActive ? $0 : nil }.map {
            ServiceManagerStatus(notifier: $0, stats: stats, eventLoopGroup: MultiThreadedEventLoopGroup.singleton, logger: logger)
        }
        let signer = signingKey.map { TreeHeadSigner(key: $0, store: store, lastTree: lastTree, logger: logger) }
        let server = LedgerServer(
            configuration: configuration, queue: queue, store: store, stats: stats, hub: hub, metrics: metrics, signer: signer, logger: logger,
            onListening: { listening in
                status?.ready(listening)
                onReady(listening)
            })
        let health = StoreHealthCheck(store: store, stats: stats, interval: configuration.storeCheckInterval, logger: logger)
        let retention = RetentionService(
            interval: configuration.retentionInterval, store: store, queue: queue, stats: stats,
            log: server.retentionLog, logger: logger)
        let reload: [ServiceGroupConfiguration.ServiceConfiguration] =
            reloadsOnHangup ? [.init(service: ReloadOnHangup(server: server, settings: settingsReload, logger: logger), successTerminationBehavior: .ignore, failureTerminationBehavior: .ignore)] : []
        return ServiceGroup(
            configuration: .init(
                services: reload + (signer.map { [.init(service: $0, successTerminationBehavior: .ignore, failureTerminationBehavior: .ignore)] } ?? []) + [
                    .init(service: writer, successTerminationBehavior: .gracefullyShutdownGroup, failureTerminationBehavior: .gracefullyShutdownGroup),
                    .init(service: server, successTerminationBehavior: .gracefullyShutdownGroup, failureTerminationBehavior: .gracefullyShutdownGroup),
                    .init(service: health, successTerminationBehavior: .ignore, failureTerminationBehavior: .ignore),
                    .init(service: retention, successTerminationBehavior: .ignore, failureTerminationBehavior: .ignore),
                    // Last, so it is the first told of a shutdown and says STOPPING=1 before the rest drain.
                ] + (status.map { [.init(service: $0, successTerminationBehavior: .ignore, failureTerminationBehavior: .ignore)] } ?? []),
                gracefulShutdownSignals: gracefulShutdownSignals,
                logger: logger
            )
        )
    }

    /// Says which key signs, or that none does; tells where a key made now is, and its public half.
    private func announce(_ loaded: (key: LogKey, created: Bool)?) {
        guard let file = self.signingKey, let (key, created) = loaded else {
            if case .memory = self.store { return }
            self.logger.warning(
                "tamper evidence is off (--signing-key off): the events committed now are in no Merkle tree; a log begun later takes them as its first leaves, but once a log has begun, ledger-rpc verify reports each as inserted")
            return
        }
        let metadata: Logger.Metadata = ["key": "\(file.path)", "log_id": "\(key.publicKey.logID.hex)"]
        if created {
            self.logger.notice(
                "made the log's signing key; give its public key to ledger-rpc verify --public-key",
                metadata: metadata.merging(["public_key": "\(file.publicKeyPath)"]) { $1 })
            FileHandle.standardError.write(Data("ledgerd: made the signing key \(file.path); its public key is in \(file.publicKeyPath):\n\(key.publicKey.pem)\n".utf8))
        } else {
            self.logger.info("signing tree heads", metadata: metadata)
        }
    }

    /// Runs until a shutdown signal; returns after every received event is committed.
    /// - Parameter onReady: called once every listener accepts connections.
    public func run(
        notifier: ServiceManagerNotifier? = nil, settingsReload: SettingsReload? = nil,
        onReady: @escaping @Sendable (LedgerServer.Listening) -> Void = { _ in }
    ) async throws {
        // A key that is there to read (named by --signing-key, or made on an earlier start) is read
        // before the store is opened, so that a mistyped or unusable key creates no store and applies
        // no migration. One still to be made waits for the store, whose own problems (a mistyped
        // path, a second daemon) come first.
        var loaded = try self.signingKey.flatMap { !$0.createsIfMissing || FileManager.default.fileExists(atPath: $0.path) ? $0 : nil }?.load()
        let store = try await self.store.open(
            limits: self.configuration.readLimits, createsDirectory: self.configuration.createsStoreDirectory, logger: self.logger)
        let key: LogKey?
        do {
            if loaded == nil { loaded = try self.signingKey?.load() }
            self.announce(loaded)
            key = loaded?.key
            if let key {
                let began = ContinuousClock.now
                let adopted = try await store.openLog(key.publicKey)
                if adopted > 0 {
                    self.logger.notice(
                        "the log took the events stored before it began as its first leaves, so that verify covers them",
                        metadata: [
                            "log_id": "\(key.publicKey.logID.hex)", "events": "\(adopted)",
                            "seconds": "\(String(format: "%.1f", Double((ContinuousClock.now - began) / .milliseconds(1)) / 1000))",
                        ])
                }
                if let state = try await store.treeState() {
                    if let source = try await store.treeSource(), let file = self.signingKey {
                        let last = LastSignedTree(beside: file, store: self.store)
                        let after = try await last.check(state, source: source)
                        do {
                            try last.markRunning()
                        } catch {
                            self.logger.warning(
                                "could not mark the last signed tree as that of a running daemon; should ledgerd crash before its next head, its next start will refuse the commits it made",
                                metadata: ["error": "\(error)"])
                        }
                        if after > 0 {
                            self.logger.warning(
                                "the store's log has leaves after the last tree this daemon signed: commits made before it stopped without signing them (a crash), or leaves written into the store since; they are signed now",
                                metadata: ["log_id": "\(key.publicKey.logID.hex)", "leaves": "\(after)", "last_signed_tree": "\(last.path)"])
                        }
                    }
                } else {
                    self.logger.warning(
                        "this store keeps no Merkle tree: its events cannot be verified (docs/VERIFY.md)",
                        metadata: ["store": "\(store.description)"])
                }
            }
        } catch {
            await store.close()
            throw error
        }
        if case .memory = self.store {
            self.logger.warning("events are kept in memory only: an acknowledgement does not mean durable", metadata: ["store": "\(store.description)"])
        }
        let stats = ServerStats()
        let group = Self.serviceGroup(
            configuration: self.configuration, store: store, stats: stats, signingKey: key,
            lastTree: self.signingKey.map { LastSignedTree(beside: $0, store: self.store) }, logger: self.logger, notifier: notifier,
            settingsReload: settingsReload,
            onReady: onReady)
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
