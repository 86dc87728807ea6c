import LedgerProtocol
import NIOCore

extension LedgerClient {
    /// Streams committed events that match `filter`, in commit order, as they land (`journalctl -f`).
    ///
    /// A tail has a connection of its own, so it never delays this client's log calls. The first
    /// batch is empty and means the subscription is live; a batch's `missed` counts matching events
    /// the daemon skipped because this reader fell behind (a batch is read only when the consumer is
    /// ready for it, so a slow consumer costs memory on neither side). The stream ends when the
    /// daemon closes the connection, and ending the iteration or cancelling its task closes it.
    ///
    /// - Parameter after: resume after this event's `tailCursor`: the events committed since come
    ///   first, then live ones, none skipped or repeated.
    public func tail(_ filter: EventFilter = EventFilter(), after: TailCursor? = nil) -> TailStream {
        let configuration = self.connection.configuration
        return TailStream.reading { source, demand in
            do {
                let channel = try await Self.connectForTail(configuration)
                try await channel.executeThenClose { inbound, outbound in
                    var request = ByteBuffer()
                    LedgerRequest.subscribe(SubscribeRequest(filter: filter, after: after)).encode(requestID: 1, into: &request)
                    try await outbound.write(request)
                    for try await frame in inbound {
                        switch try LedgerResponse.decode(frame) {
                        case .tail(let batch):
                            let seen = demand.requests
                            switch source.yield(batch) {
                            case .produceMore: continue
                            case .stopProducing: await demand.waitForMore(after: seen)
                            case .dropped: return
                            }
                        case .error(let error):
                            throw LedgerClientError(code: .rejected, message: "ledgerd rejected the tail: \(error)", serverError: error)
                        default:
                            throw LedgerClientError(code: .protocolViolation, message: "ledgerd answered a tail with message type \(frame.type)")
                        }
                    }
                }
                source.finish()
            } catch let error as LedgerClientError {
                source.finish(error)
            } catch {
                source.finish(ClientConnection.failure(error, endpoint: configuration.endpointDescription))
            }
        }
    }

    private static func connectForTail(
        _ configuration: LedgerClientConfiguration
    ) async throws -> NIOAsyncChannel<LedgerFrame, ByteBuffer> {
        let tls = try configuration.tls.map { endpoint throws(LedgerClientError) in (endpoint: endpoint, context: try endpoint.makeContext()) }
        return try await ClientChannelSetup.connect(
            configuration: configuration, tls: tls, on: configuration.eventLoopGroup.next(),
            initializer: { channel in try NIOAsyncChannel<LedgerFrame, ByteBuffer>(wrappingChannelSynchronously: channel) },
            // executeThenClose finishes the writer, which an async channel must have finished
            // before it goes; the channel is already closing, so the task ends with it.
            abandon: { channel in Task { try? await channel.executeThenClose { _, _ in } } }
        ).get()
    }
}
