import Foundation
import LedgerFiles
import LedgerProtocol
import LedgerStore
import Logging
import NIOConcurrencyHelpers
import NIOCore
import NIOPosix
import NIOSSL
import ServiceLifecycle

/// The listeners: the Unix socket, and the TLS port when one is configured. Each
/// accepted connection is served in its own task.
///
/// On graceful shutdown it stops accepting, stops reading from every
/// connection, writes the acks still owed (the batch writer keeps running
/// until this service has returned), and removes its socket file.
public struct LedgerServer: Service {
    /// Where the daemon listens, reported once every listener is bound.
    public struct Listening: Sendable {
        public var socketPath: String
        /// The TLS listener's bound address (its port resolved when 0 was asked for).
        public var tlsAddress: String?
        /// Where `/metrics` is served, likewise.
        public var metricsAddress: String?
    }

    let configuration: LedgerServerConfiguration
    let dispatcher: RequestDispatcher
    /// What retention has done, which the retention service writes and `retention` requests read.
    let retentionLog: RetentionLog
    /// The TLS listener's context once `run` has loaded it, for SIGHUP to replace.
    private let tlsSource = NIOLockedValueBox<TLSContextSource?>(nil)
    let eventLoopGroup: any EventLoopGroup
    let metrics: LedgerMetrics?
    let logger: Logger
    let onListening: @Sendable (Listening) -> Void

    public init(
        configuration: LedgerServerConfiguration,
        queue: IngestQueue,
        store: any EventStore,
        stats: ServerStats,
        hub: TailHub = TailHub(),
        eventLoopGroup: any EventLoopGroup = MultiThreadedEventLoopGroup.singleton,
        metrics: LedgerMetrics? = nil,
        signer: TreeHeadSigner? = nil,
        logger: Logger,
        onListening: @escaping @Sendable (Listening) -> Void = { _ in }
    ) {
        self.configuration = configuration
        let started = LedgerTimestamp.now()
        self.retentionLog = RetentionLog(policy: configuration.retention)
        self.dispatcher = RequestDispatcher(
            configuration: configuration, queue: queue, store: store, stats: stats, hub: hub, retention: self.retentionLog,
            facts: [
                .init("server", configuration.serverName),
                .init("store", store.description),
                .init("socket", configuration.socketPath),
                .init("tls_listen", configuration.tls.map { "\($0.host):\($0.port)" } ?? "off"),
                .init("retention", configuration.retention.description),
                .init("started_at", started.iso8601),
                .init("pid", "\(getpid())"),
            ],
            metrics: metrics,
            signer: signer,
            logger: logger
        )
        self.metrics = metrics
        self.eventLoopGroup = eventLoopGroup
        self.logger = logger
        self.onListening = onListening
    }

    public func run() async throws {
        // The TLS files are checked before anything is bound, so a bad one leaves no socket behind.
        let tlsContext = try self.configuration.tls.map { try TLSContextSource(configuration: $0) }
        self.tlsSource.withLockedValue { $0 = tlsContext }
        let path = self.configuration.socketPath
        let maximumFrameLength = self.configuration.maximumFrameLength
        let closingDeadline = TimeAmount(self.configuration.closingDeadline)
        let deadlines = self.deadlines
        let accepted = AcceptedConnections()
        let initializer: @Sendable (any Channel) -> EventLoopFuture<AcceptedConnections.Connection> = { channel in
            channel.eventLoop.makeCompletedFuture {
                try Self.serveFrames(
                    on: channel, deadlines: deadlines(), maximumFrameLength: maximumFrameLength, closingDeadline: closingDeadline,
                    accepted: accepted)
            }
        }
        let bootstrap = ServerBootstrap(group: self.eventLoopGroup).serverChannelOption(.backlog, value: 256).boundingReadsPerConnection()
        let listener: NIOAsyncChannel<AcceptedConnections.Connection, Never>
        if let activated = self.configuration.activatedSocket {
            // The service manager made the socket and keeps it across restarts: it is neither prepared nor removed here.
            listener = try await bootstrap.bind(activated, childChannelInitializer: initializer)
        } else {
            try SocketFile.prepare(path: path, creatingDirectory: self.configuration.createsSocketDirectory)
            listener = try await bootstrap.bind(unixDomainSocketPath: path, childChannelInitializer: initializer)
            guard chmod(path, mode_t(self.configuration.socketMode)) == 0 else {
                try? await listener.channel.close()
                await accepted.closeWaiting()
                throw SocketFile.Error(description: "cannot set mode of \(path): \(String(cString: strerror(errno)))")
            }
        }
        defer { if self.configuration.activatedSocket == nil { unlink(path) } }
        self.logger.info("listening", metadata: ["socket": "\(path)", "activated": "\(self.configuration.activatedSocket != nil)"])
        let handler = ConnectionHandler(dispatcher: self.dispatcher, logger: self.logger)

        var tlsListener: NIOAsyncChannel<NIOAsyncChannel<LedgerFrame, LedgerFrame>, Never>?
        let acceptedTLS = AcceptedConnections()
        if let tls = self.configuration.tls, let tlsContext {
            do {
                tlsListener = try await self.bindTLS(tls, context: tlsContext, accepted: acceptedTLS)
            } catch {
                try? await listener.channel.close()
                await accepted.closeWaiting()
                throw error
            }
        }
        let tlsAddress = tlsListener.flatMap { $0.channel.localAddress }.map { "\($0.ipAddress ?? "?"):\($0.port ?? 0)" }
        if let tlsAddress {
            self.logger.info("listening for TLS peers", metadata: ["address": "\(tlsAddress)", "writes": "\(self.configuration.tls?.allowWrites == true)"])
        }
        var metricsListener: NIOAsyncChannel<MetricsEndpoint.Connection, Never>?
        if let listen = self.configuration.metricsListen, self.metrics != nil {
            do {
                metricsListener = try await ServerBootstrap(group: self.eventLoopGroup)
                    .serverChannelOption(.backlog, value: 64).serverChannelOption(.socketOption(.so_reuseaddr), value: 1)
                    .bind(host: listen.host, port: listen.port, childChannelInitializer: MetricsEndpoint.initializer())
            } catch {
                try? await listener.channel.close()
                try? await tlsListener?.channel.close()
                await accepted.closeWaiting()
                await acceptedTLS.closeWaiting()
                throw MetricsEndpoint.Error(description: "cannot serve metrics on \(listen.host):\(listen.port): \(error)")
            }
        }
        let metricsAddress = metricsListener.flatMap { $0.channel.localAddress }.map { "\($0.ipAddress ?? "?"):\($0.port ?? 0)" }
        if let metricsAddress, let listen = self.configuration.metricsListen {
            if listen.isLoopback {
                self.logger.info("serving metrics", metadata: ["address": "\(metricsAddress)"])
            } else {
                self.logger.notice("serving metrics beyond this host, without authentication", metadata: ["address": "\(metricsAddress)"])
            }
        }
        self.onListening(Listening(socketPath: path, tlsAddress: tlsAddress, metricsAddress: metricsAddress))

        let remoteMayWrite = self.configuration.tls?.allowWrites == true
        let allowedUIDs = self.configuration.allowedUIDs.map { $0.union([UInt32(getuid())]) }
        try await withThrowingTaskGroup(of: Void.self) { group in
            let stats = self.dispatcher.stats
            let socketBudget = ConnectionBudget(
                current: stats.socketConnectionsCurrent, maximum: self.configuration.maximumConnections, option: "--max-connections")
            let tlsBudget = ConnectionBudget(
                current: stats.tlsConnectionsCurrent, maximum: self.configuration.maximumTLSConnections, option: "--tls-max-connections")
            if let metricsListener, let metrics = self.metrics, let listen = self.configuration.metricsListen {
                let dispatcher = self.dispatcher
                let logger = self.logger
                group.addTask {
                    try await MetricsEndpoint.serveScrapes(
                        on: metricsListener, maximumConnections: listen.maximumConnections,
                        render: { metrics.render(dispatcher.statsSnapshot()) }, logger: logger)
                }
            }
            if let tlsListener {
                group.addTask {
                    try await Self.serve(tlsListener, accepted: acceptedTLS, budget: tlsBudget, handler: handler) { channel in
                        .success(PeerAccess(mayWrite: remoteMayWrite, peer: "TLS peer \(channel.remoteAddress?.description ?? "unknown")"))
                    }
                }
            }
            group.addTask {
                try await Self.serve(listener, accepted: accepted, budget: socketBudget, handler: handler) { channel in
                    let credentials = await PeerCredentials.of(channel)
                    if let allowedUIDs {
                        guard let credentials, allowedUIDs.contains(credentials.uid) else {
                            let who = credentials.map { "uid \($0.uid) (pid \($0.pid))" } ?? "a peer whose uid is unknown"
                            return .failure(PeerRefusal(description: "\(who) is not allowed to use this ledgerd (--allow-uid)"))
                        }
                    }
                    return .success(.local(credentials))
                }
            }
            try await group.waitForAll()
        }
        self.logger.info("stopped accepting; all connections closed")
    }

    /// The handlers every connection ends with, after TLS where there is TLS.
    private static func serveFrames(
        on channel: any Channel, deadlines: ConnectionDeadlines, maximumFrameLength: Int, closingDeadline: TimeAmount,
        accepted: AcceptedConnections
    ) throws -> AcceptedConnections.Connection {
        try Self.addFraming(
            to: channel.pipeline.syncOperations, deadlines: deadlines, maximumFrameLength: maximumFrameLength, closingDeadline: closingDeadline)
        return try accepted.wrap(channel)
    }

    /// Deadlines, framing, the gate that makes a closing error the last frame, and the gate that
    /// ends reads on graceful shutdown: in this order, from the socket up.
    static func addFraming(
        to pipeline: ChannelPipeline.SynchronousOperations, deadlines: ConnectionDeadlines, maximumFrameLength: Int,
        closingDeadline: TimeAmount
    ) throws {
        try pipeline.addHandler(deadlines)
        try pipeline.addHandler(ByteToMessageHandler(LedgerFrameDecoder(maximumFrameLength: maximumFrameLength)))
        try pipeline.addHandler(MessageToByteHandler(LedgerFrameEncoder()))
        try pipeline.addHandler(FinalFrameGate(closingDeadline: closingDeadline))
        try pipeline.addHandler(ShutdownReadGate())
    }

    /// A fresh deadline handler for each connection.
    private var deadlines: @Sendable () -> ConnectionDeadlines {
        let frameDeadline = self.configuration.frameDeadline.map { TimeAmount($0) }
        let idleTimeout = self.configuration.idleTimeout.map { TimeAmount($0) }
        let stats = self.dispatcher.stats
        return { ConnectionDeadlines(frameDeadline: frameDeadline, idleTimeout: idleTimeout, stats: stats) }
    }

    /// Accepts until graceful shutdown, serving each connection in its own task, and returns once all have closed.
    private static func serve(
        _ listener: NIOAsyncChannel<NIOAsyncChannel<LedgerFrame, LedgerFrame>, Never>,
        accepted: AcceptedConnections,
        budget: ConnectionBudget,
        handler: ConnectionHandler,
        access: @escaping @Sendable (any Channel) async -> Result<PeerAccess, PeerRefusal>
    ) async throws {
        let stats = handler.dispatcher.stats
        let queue = handler.dispatcher.queue
        let listening = listener.channel
        try await withThrowingDiscardingTaskGroup { group in
            defer { group.addTask { await accepted.closeWaiting() } }
            try await listener.executeThenClose { connections in
                // Graceful shutdown closes the listener rather than cancelling this loop, so the connections
                // already accepted still come out of it; each is served, and ends at once.
                try await withGracefulShutdownHandler {
                    for try await connection in connections {
                        accepted.taken(connection)
                        group.addTask {
                            guard budget.acquire() else {
                                stats.add(\.connectionsOverLimit)
                                await handler.refuse(
                                    connection,
                                    ErrorResponse(
                                        code: .tooManyConnections, closesConnection: true,
                                        message: "ledgerd serves at most \(budget.maximum) connections here (\(budget.option)); try again later"))
                                return
                            }
                            defer { budget.release() }
                            switch await access(connection.channel) {
                            case .success(let peer): await handler.handle(connection, access: peer)
                            case .failure(let refusal):
                                stats.add(\.connectionsRefused)
                                await handler.refuse(
                                    connection, ErrorResponse(code: .permissionDenied, closesConnection: true, message: refusal.description))
                            }
                        }
                    }
                } onGracefulShutdown: {
                    listening.close(promise: nil)
                    // Starts the writer's count towards giving up on a store that is down, which is what
                    // frees connections waiting for room in a full queue.
                    queue.beginShutdown()
                }
            }
        }
    }

    /// Reads the TLS listener's files again, for SIGHUP; without a TLS listener there is nothing to read.
    public func reloadTLS() {
        guard let source = self.tlsSource.withLockedValue({ $0 }) else {
            self.logger.notice("SIGHUP: no TLS listener, nothing to reload")
            return
        }
        source.reload(logger: self.logger)
    }

    /// TCP with TLS in front of the same framing; a peer without a certificate from the client CA never gets a frame through.
    private func bindTLS(
        _ tls: TLSListenerConfiguration, context: TLSContextSource, accepted: AcceptedConnections
    ) async throws -> NIOAsyncChannel<NIOAsyncChannel<LedgerFrame, LedgerFrame>, Never> {
        let maximumFrameLength = self.configuration.maximumFrameLength
        let closingDeadline = TimeAmount(self.configuration.closingDeadline)
        let logger = self.logger
        let deadlines = self.deadlines
        let handshakeTimeout = TimeAmount(self.configuration.tlsHandshakeTimeout)
        let stats = self.dispatcher.stats
        let initializer: @Sendable (any Channel) -> EventLoopFuture<AcceptedConnections.Connection> = { channel in
            channel.eventLoop.makeCompletedFuture {
                try channel.pipeline.syncOperations.addHandler(NIOSSLServerHandler(context: context.current))
                try channel.pipeline.syncOperations.addHandler(TLSHandshakeDeadline(deadline: handshakeTimeout, stats: stats))
                try channel.pipeline.syncOperations.addHandler(TLSPeerLogger(logger: logger))
                return try Self.serveFrames(
                    on: channel, deadlines: deadlines(), maximumFrameLength: maximumFrameLength, closingDeadline: closingDeadline,
                    accepted: accepted)
            }
        }
        let bootstrap = ServerBootstrap(group: self.eventLoopGroup).serverChannelOption(.backlog, value: 256).boundingReadsPerConnection()
        do {
            if let activated = tls.activatedSocket {
                return try await bootstrap.bind(activated, childChannelInitializer: initializer)
            }
            return try await bootstrap.serverChannelOption(.socketOption(.so_reuseaddr), value: 1)
                .bind(host: tls.host, port: tls.port, childChannelInitializer: initializer)
        } catch {
            throw TLSListenerConfiguration.Error(description: "cannot listen for TLS on \(tls.host):\(tls.port): \(error)")
        }
    }
}
