import LedgerProtocol
import Logging
import NIOCore
import ServiceLifecycle

/// Serves one client connection: reads frames in order, dispatches them, and
/// writes the responses in request order from a second task.
///
/// A frame that breaks the framing gets an error frame and the connection is
/// closed after the responses owed before it; anything else gets an error for
/// that request only. Nothing here can affect another connection.
struct ConnectionHandler: Sendable {
    /// Most responses gathered into one write.
    static let framesPerWrite = 256

    let dispatcher: RequestDispatcher
    let logger: Logger

    func handle(_ connection: NIOAsyncChannel<LedgerFrame, LedgerFrame>) async {
        await self.handle(connection, access: .local)
    }

    func handle(_ connection: NIOAsyncChannel<LedgerFrame, LedgerFrame>, access: PeerAccess) async {
        let stats = self.dispatcher.stats
        stats.add(\.connectionsCurrent)
        stats.add(\.connectionsTotal)
        defer { stats.add(\.connectionsCurrent, -1) }
        let channel = connection.channel
        let responses = ResponseQueue(capacity: self.dispatcher.configuration.pendingResponsesPerConnection)
        do {
            try await connection.executeThenClose { inbound, outbound in
                try await withThrowingTaskGroup(of: Void.self) { group in
                    group.addTask {
                        while let pending = await responses.next() {
                            if case .stream(let requestID, let subscription, let after) = pending {
                                try await self.stream(subscription, after: after, requestID: requestID, to: outbound)
                                continue
                            }
                            // Acks of one commit complete together: write what is already owed in one flush.
                            var frames = [await Self.resolve(pending)]
                            while frames.count < Self.framesPerWrite, let more = responses.nextIfSettled() {
                                frames.append(await Self.resolve(more))
                            }
                            try await outbound.write(contentsOf: frames)
                        }
                    }
                    var subscription: TailSubscription?
                    do {
                        // On graceful shutdown the gate ends `inbound`; the acks owed are still written.
                        try await withGracefulShutdownHandler {
                            for try await frame in inbound {
                                // A subscribed connection only streams; what the client sends now is read and dropped.
                                if subscription != nil { continue }
                                let outcome: RequestDispatcher.Outcome
                                do {
                                    outcome = try await self.dispatcher.handle(frame, access: access)
                                } catch let error as LedgerProtocolError {
                                    await self.closing(after: error, requestID: frame.requestID, responses: responses)
                                    break
                                }
                                switch outcome {
                                case .noResponse: break
                                case .respond(let response):
                                    await responses.push(.ready(response.frame(requestID: frame.requestID)))
                                case .respondAfterCommit(let committed, let ticket):
                                    await responses.push(.afterCommit(requestID: frame.requestID, committed: committed, ticket))
                                case .subscribe(let request):
                                    // Registered before any catch-up read, so nothing committed in between is lost.
                                    let live = self.dispatcher.hub.subscribe(request.filter)
                                    subscription = live
                                    channel.triggerUserOutboundEvent(ConnectionDeadlines.Streaming(), promise: nil)
                                    await responses.push(.stream(requestID: frame.requestID, live, after: request.after))
                                }
                            }
                        } onGracefulShutdown: {
                            channel.triggerUserOutboundEvent(ShutdownReadGate.Close(), promise: nil)
                        }
                    } catch let error as LedgerProtocolError {
                        // The decoder failed, so no request id can be trusted: 0 marks the connection as a whole.
                        await self.closing(after: error, requestID: 0, responses: responses)
                    } catch {
                        // The peer went away (a reset, a TLS peer closing without close_notify): nothing to answer.
                        self.logger.debug("connection lost", metadata: ["peer": "\(access.peer)", "error": "\(error)"])
                    }
                    if let subscription { self.dispatcher.hub.unsubscribe(subscription) }
                    // Always: the writer task ends only when the queue is finished.
                    responses.finish()
                    try await group.next()
                    group.cancelAll()
                }
            }
        } catch {
            self.logger.debug("connection ended", metadata: ["error": "\(error)"])
        }
    }

    /// Writes a tail: the stored events after the cursor first, then live commits, each exactly once.
    ///
    /// Commit sequence numbers order both parts, so a live event that the catch-up already sent is skipped.
    private func stream(
        _ subscription: TailSubscription, after: TailCursor?, requestID: UInt32, to outbound: NIOAsyncChannelOutboundWriter<LedgerFrame>
    ) async throws {
        // An empty first batch tells the subscriber it is live.
        try await outbound.write(LedgerResponse.tail(TailBatch(events: [])).frame(requestID: requestID))
        var last = after?.sequence ?? -1
        if after != nil {
            while true {
                let page: [LedgerEvent]
                do {
                    page = try await self.dispatcher.store.events(afterSequence: last, matching: subscription.filter, limit: TailSubscription.batchLimit)
                } catch {
                    let failure = ErrorResponse(code: .storeUnavailable, closesConnection: true, message: "cannot read the events to resume from: \(error)")
                    try await outbound.write(LedgerResponse.error(failure).frame(requestID: requestID))
                    return
                }
                guard let newest = page.last?.sequence else { break }
                try await outbound.write(LedgerResponse.tail(TailBatch(events: page)).frame(requestID: requestID))
                last = newest
            }
        }
        while let batch = await subscription.next() {
            let fresh = last < 0 ? batch.events : batch.events.filter { ($0.sequence ?? Int64.max) > last }
            guard !fresh.isEmpty || batch.missed > 0 else { continue }
            try await outbound.write(LedgerResponse.tail(TailBatch(missed: batch.missed, events: fresh)).frame(requestID: requestID))
        }
    }

    /// Tells a peer it may not connect, in one error frame, and closes.
    func refuse(_ connection: NIOAsyncChannel<LedgerFrame, LedgerFrame>, _ response: ErrorResponse) async {
        self.logger.notice("refused a connection", metadata: ["reason": "\(response.message)"])
        try? await connection.executeThenClose { _, outbound in
            try await outbound.write(LedgerResponse.error(response).frame(requestID: 0))
        }
    }

    private func closing(after error: LedgerProtocolError, requestID: UInt32, responses: ResponseQueue) async {
        self.dispatcher.stats.add(\.protocolErrors)
        self.logger.info("closing connection after a protocol error", metadata: ["error": "\(error)"])
        var response = ErrorResponse(error)
        response.closesConnection = true
        await responses.push(.ready(LedgerResponse.error(response).frame(requestID: requestID)))
    }

    /// Waits for a commit when the response is an ack; a failed commit becomes an error frame.
    static func resolve(_ pending: ResponseQueue.Pending) async -> LedgerFrame {
        switch pending {
        case .ready(let frame):
            return frame
        case .stream(let requestID, _, _):
            return LedgerResponse.error(ErrorResponse(code: .internalError, message: "a stream cannot be resolved to one frame")).frame(
                requestID: requestID)
        case .afterCommit(let requestID, let committed, let ticket):
            do {
                try await ticket.wait()
                return LedgerResponse.ack(Ack(committed: committed)).frame(requestID: requestID)
            } catch let error as LedgerProtocolError {
                return LedgerResponse.error(ErrorResponse(error)).frame(requestID: requestID)
            } catch {
                return LedgerResponse.error(
                    ErrorResponse(code: .storeUnavailable, message: "the events were not acknowledged: \(error)")
                ).frame(requestID: requestID)
            }
        }
    }
}
