import Foundation
import LedgerProtocol
import LedgerStore
import Logging
import NIOCore
import NIOPosix
import ServiceLifecycle

/// The Unix socket listener: accepts connections and serves each in its own task.
///
/// On graceful shutdown it stops accepting, stops reading from every
/// connection, writes the acks still owed (the batch writer keeps running
/// until this service has returned), and removes its socket file.
public struct LedgerServer: Service {
    let configuration: LedgerServerConfiguration
    let dispatcher: RequestDispatcher
    let eventLoopGroup: any EventLoopGroup
    let logger: Logger
    let onListening: @Sendable (String) -> Void

    public init(
        configuration: LedgerServerConfiguration,
        queue: IngestQueue,
        store: any EventStore,
        stats: ServerStats,
        eventLoopGroup: any EventLoopGroup = MultiThreadedEventLoopGroup.singleton,
        logger: Logger,
        onListening: @escaping @Sendable (String) -> Void = { _ in }
    ) {
        self.configuration = configuration
        let started = RequestDispatcher.now()
        self.dispatcher = RequestDispatcher(
            configuration: configuration, queue: queue, store: store, stats: stats,
            facts: [
                .init("server", configuration.serverName),
                .init("store", store.description),
                .init("socket", configuration.socketPath),
                .init("started_at", started.iso8601),
                .init("pid", "\(getpid())"),
            ],
            logger: logger
        )
        self.eventLoopGroup = eventLoopGroup
        self.logger = logger
        self.onListening = onListening
    }

    public func run() async throws {
        let path = self.configuration.socketPath
        try SocketFile.prepare(path: path)
        let maximumFrameLength = self.configuration.maximumFrameLength
        let listener = try await ServerBootstrap(group: self.eventLoopGroup)
            .serverChannelOption(.backlog, value: 256)
            .bind(unixDomainSocketPath: path) { channel in
                channel.eventLoop.makeCompletedFuture {
                    try channel.pipeline.syncOperations.addHandler(
                        ByteToMessageHandler(LedgerFrameDecoder(maximumFrameLength: maximumFrameLength)))
                    try channel.pipeline.syncOperations.addHandler(MessageToByteHandler(LedgerFrameEncoder()))
                    return try NIOAsyncChannel<LedgerFrame, LedgerFrame>(wrappingChannelSynchronously: channel)
                }
            }
        guard chmod(path, mode_t(self.configuration.socketMode)) == 0 else {
            try? await listener.channel.close()
            throw SocketFile.Error(description: "cannot set mode of \(path): \(String(cString: strerror(errno)))")
        }
        self.logger.info("listening", metadata: ["socket": "\(path)"])
        self.onListening(path)
        let handler = ConnectionHandler(dispatcher: self.dispatcher, logger: self.logger)
        defer { unlink(path) }
        try await withThrowingDiscardingTaskGroup { group in
            try await listener.executeThenClose { connections in
                for try await connection in connections.cancelOnGracefulShutdown() {
                    group.addTask {
                        await handler.handle(connection)
                    }
                }
            }
        }
        self.logger.info("stopped accepting; all connections closed")
    }
}
