import LedgerProtocol
import NIOCore
import NIOPosix
import NIOSSL

extension LedgerClient {
    /// Streams committed events that match `filter`, in commit order, as they land (`journalctl -f`).
    ///
    /// A tail has a connection of its own, so it never delays this client's log calls. The first
    /// batch is empty and means the subscription is live; a batch's `missed` counts matching events
    /// the daemon skipped because this reader fell behind. The stream ends when the daemon closes the
    /// connection, and cancelling the consuming task closes it.
    ///
    /// - Parameter after: resume after this event's `tailCursor`: the events committed since come
    ///   first, then live ones, none skipped or repeated.
    public func tail(_ filter: EventFilter = EventFilter(), after: TailCursor? = nil) -> AsyncThrowingStream<TailBatch, any Error> {
        let configuration = self.connection.configuration
        return AsyncThrowingStream { continuation in
            let task = Task {
                do {
                    let channel = try await Self.connectForTail(configuration)
                    try await channel.executeThenClose { inbound, outbound in
                        var request = ByteBuffer()
                        LedgerRequest.subscribe(SubscribeRequest(filter: filter, after: after)).encode(requestID: 1, into: &request)
                        try await outbound.write(request)
                        for try await frame in inbound {
                            switch try LedgerResponse.decode(frame) {
                            case .tail(let batch): continuation.yield(batch)
                            case .error(let error):
                                throw LedgerClientError(code: .rejected, message: "ledgerd rejected the tail: \(error)", serverError: error)
                            default:
                                throw LedgerClientError(code: .protocolViolation, message: "ledgerd answered a tail with message type \(frame.type)")
                            }
                        }
                    }
                    continuation.finish()
                } catch let error as LedgerClientError {
                    continuation.finish(throwing: error)
                } catch {
                    continuation.finish(throwing: ClientConnection.failure(error, endpoint: configuration.endpointDescription))
                }
            }
            continuation.onTermination = { _ in task.cancel() }
        }
    }

    private static func connectForTail(
        _ configuration: LedgerClientConfiguration
    ) async throws -> NIOAsyncChannel<LedgerFrame, ByteBuffer> {
        let tls = try configuration.tls.map { endpoint throws(LedgerClientError) in (endpoint, try endpoint.makeContext()) }
        let maximumResponseLength = configuration.maximumResponseLength
        let eventLoop = configuration.eventLoopGroup.next()
        let handshake = tls.map { ClientChannelSetup.handshakePromise(on: eventLoop, deadline: configuration.connectTimeout, endpoint: $0.0) }
        let bootstrap = ClientBootstrap(group: eventLoop).connectTimeout(configuration.connectTimeout)
        let initializer: @Sendable (any Channel) -> EventLoopFuture<NIOAsyncChannel<LedgerFrame, ByteBuffer>> = { channel in
            channel.eventLoop.makeCompletedFuture {
                try ClientChannelSetup.addHandlers(
                    to: channel, tls: tls.map { ($0.0, $0.1) }, handshake: handshake, maximumResponseLength: maximumResponseLength)
                return try NIOAsyncChannel<LedgerFrame, ByteBuffer>(wrappingChannelSynchronously: channel)
            }
        }
        if let endpoint = configuration.tls, let handshake {
            let channel: NIOAsyncChannel<LedgerFrame, ByteBuffer>
            do {
                channel = try await bootstrap.connect(host: endpoint.host, port: endpoint.port, channelInitializer: initializer)
            } catch {
                handshake.fail(error)
                throw error
            }
            do {
                try await handshake.futureResult.get()
            } catch {
                // Closed through the async channel, which must see its own end.
                try? await channel.executeThenClose { _, _ in }
                throw error
            }
            return channel
        }
        if let untrusted = configuration.untrustedSocket { throw untrusted }
        return try await bootstrap.connect(unixDomainSocketPath: configuration.socketPath, channelInitializer: initializer)
    }
}
