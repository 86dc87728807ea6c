import Foundation
import LedgerProtocol
import LedgerServer
import LedgerStore
import LedgerTestSupport
import Logging
import ServiceLifecycle

public enum TestServerError: Error {
    case stoppedBeforeListening
}

/// The real listener and batch writer on a real Unix socket and SQLite file, in this process.
public final class TestServer: Sendable {
    public let directory: String
    public let socketPath: String
    public let store: SQLiteStore
    public let stats: ServerStats
    private let group: ServiceGroup
    private let task: Task<Void, any Error>

    /// The deadlines a test does not set itself are two minutes, not the daemon's seconds: a machine
    /// busy enough (the address sanitizer's run beside the whole suite) has held a read, a write or a
    /// commit back past the defaults, and a test that is not about a deadline must not fail on one.
    ///
    /// - Parameter openStore: opens the store at the path given, for a test that needs it opened its own way.
    public static func start(
        configure: (inout LedgerServerConfiguration) -> Void = { _ in },
        openStore: (String, Logger) async throws -> SQLiteStore = { try await SQLiteStore(path: $0, logger: $1) }
    ) async throws -> TestServer {
        let directory = try makeTemporaryDirectory("srv")
        var configuration = LedgerServerConfiguration(socketPath: "\(directory)/ledgerd.sock")
        configuration.frameDeadline = .seconds(120)
        configuration.closingDeadline = .seconds(120)
        configuration.readLimits.queryTimeout = .seconds(120)
        configure(&configuration)
        var logger = Logger(label: "test-ledgerd")
        logger.logLevel = .warning
        let store = try await openStore("\(directory)/ledger.sqlite", logger)
        return try await TestServer(directory: directory, configuration: configuration, store: store, logger: logger)
    }

    private init(directory: String, configuration: LedgerServerConfiguration, store: SQLiteStore, logger: Logger) async throws {
        self.directory = directory
        self.socketPath = configuration.socketPath
        self.store = store
        let stats = ServerStats()
        self.stats = stats
        let (listening, continuation) = AsyncStream<String>.makeStream()
        // The daemon's own wiring and shutdown policy, without its signal handlers.
        let group = LedgerDaemon.serviceGroup(
            configuration: configuration, store: store, stats: stats, logger: logger, gracefulShutdownSignals: [], reloadsOnHangup: false,
            onReady: { continuation.yield($0.socketPath) })
        self.group = group
        self.task = Task {
            // Finishing the stream lets a daemon that fails to start fail the test instead of hanging it.
            defer { continuation.finish() }
            try await group.run()
        }
        var iterator = listening.makeAsyncIterator()
        if await iterator.next() == nil {
            try await self.task.value
            throw TestServerError.stoppedBeforeListening
        }
    }

    /// Graceful shutdown, as on SIGTERM: returns once everything received is committed.
    public func stop() async throws {
        await self.group.triggerGracefulShutdown()
        try await self.task.value
    }

    public func stopAndRemove() async throws {
        try await self.stop()
        await self.store.close()
        try? FileManager.default.removeItem(atPath: self.directory)
    }
}
