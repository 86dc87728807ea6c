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
///
/// Three tasks serve it: the reader, the writer, and a watch on the channel. When the
/// channel closes, or either of the others fails, all three end, whatever each was waiting
/// for (room for its answers, room in the ingest queue, a commit, a tail), so a connection
/// never outlives its socket. A peer that only half-closes still gets every answer it is owed.
struct ConnectionHandler: Sendable {
    /// Most responses gathered into one write.
    static let framesPerWrite = 256
    /// Most bytes gathered into one write, so one write never holds much more than a page of events.
    static let bytesPerWrite = 1 << 20
    /// Requests a connection runs before letting other connections' tasks have the thread.
    static let framesPerTurn = 64

    let dispatcher: RequestDispatcher
    let logger: Logger

    private enum Role: Sendable {
        case reader, writer, closed
    }

    func handle(_ connection: NIOAsyncChannel<LedgerFrame, LedgerFrame>) async {
        await self.handle(connection, access: .local)
    }

    func handle(_ connection: NIOAsyncChannel<LedgerFrame, LedgerFrame>, access: PeerAccess) async {
        let stats = self.dispatcher.stats
        stats.add(\.connectionsCurrent)
        stats.add(\.connectionsTotal)
        defer { stats.add(\.connectionsCurrent, -1) }
        let channel = connection.channel
        let configuration = self.dispatcher.configuration
        let responses = ResponseQueue(
            capacity: configuration.pendingResponsesPerConnection, byteCapacity: configuration.pendingResponseBytesPerConnection,
            bytesGauge: stats.answerBytesOwed)
        let closed = ChannelClosedSignal(channel)
        // Only an idle timeout reads the count, so without one it is not worth fetching from the pipeline.
        let inHand = configuration.idleTimeout == nil ? RequestsInHand() : await ConnectionDeadlines.requestsInHand(of: channel)
        do {
            try await connection.executeThenClose { inbound, outbound in
                try await withThrowingTaskGroup(of: Role.self) { group in
                    group.addTask {
                        try await self.writeResponses(from: responses, to: outbound, inHand: inHand)
                        return .writer
                    }
                    group.addTask {
                        await self.readRequests(from: inbound, access: access, channel: channel, into: responses, inHand: inHand)
                        return .reader
                    }
                    group.addTask {
                        await closed.wait()
                        return .closed
                    }
                    // Whatever ends the connection early, what it is owed is let go and no more requests are run.
                    defer {
                        responses.cancel()
                        group.cancelAll()
                    }
                    var serving: Set<Role> = [.reader, .writer]
                    while !serving.isEmpty, let role = try await group.next() {
                        // The socket is gone: nothing owed can be delivered, so nothing is worth waiting for.
                        if role == .closed { return }
                        serving.remove(role)
                    }
                }
            }
        } catch {
            self.logger.debug("connection ended", metadata: ["peer": "\(access.peer)", "error": "\(error)"])
        }
    }

    /// Reads and dispatches frames until the peer stops sending, the connection breaks, or shutdown.
    private func readRequests(
        from inbound: NIOAsyncChannelInboundStream<LedgerFrame>, access: PeerAccess, channel: any Channel, into responses: ResponseQueue,
        inHand: RequestsInHand
    ) async {
        var subscription: TailSubscription?
        var writes = RequestDispatcher.ConnectionWrites()
        var sinceYield = 0
        // Always: the writer ends once the queue is finished and drained.
        defer {
            if let subscription { self.dispatcher.hub.unsubscribe(subscription) }
            responses.finish()
        }
        do {
            // On graceful shutdown the gate ends `inbound`; the acks owed are still written, for a while.
            try await withGracefulShutdownHandler {
                for try await frame in inbound {
                    // Frames read before the connection ended are not run: nobody is left to answer.
                    if Task.isCancelled { return }
                    // A peer with thousands of frames buffered takes turns with the others rather than
                    // holding a thread of the pool until it has been answered in full.
                    sinceYield += 1
                    if sinceYield == Self.framesPerTurn {
                        sinceYield = 0
                        await Task.yield()
                    }
                    // A subscribed connection only streams; what the client sends now is read and dropped.
                    if subscription != nil {
                        inHand.answered()
                        continue
                    }
                    let outcome: RequestDispatcher.Outcome
                    do {
                        outcome = try await self.dispatcher.handle(frame, access: access, writes: &writes)
                    } catch let error as LedgerProtocolError {
                        await self.closing(after: error, requestID: frame.requestID, channel: channel, responses: responses)
                        return
                    }
                    let pending: ResponseQueue.Pending
                    switch outcome {
                    case .noResponse:
                        inHand.answered()
                        continue
                    case .respond(let response):
                        pending = .ready(response.frame(requestID: frame.requestID))
                    case .respondAfterCommit(let committed, let ticket):
                        pending = .afterCommit(requestID: frame.requestID, committed: committed, ticket)
                    case .subscribe(let request):
                        // Registered before any catch-up read, so nothing committed in between is lost.
                        let live = self.dispatcher.hub.subscribe(request.filter)
                        subscription = live
                        channel.triggerUserOutboundEvent(ConnectionDeadlines.Streaming(), promise: nil)
                        pending = .stream(requestID: frame.requestID, live, after: request.after)
                    }
                    // Refused once the connection is gone: stop reading what nobody will be answered for.
                    guard await responses.push(pending) else { return }
                }
            } onGracefulShutdown: {
                channel.triggerUserOutboundEvent(ShutdownReadGate.Close(), promise: nil)
                self.closeIfStillOwing(
                    channel, responses, after: self.dispatcher.configuration.shutdownAnswerDeadline,
                    "closing a connection that did not take its answers during shutdown")
            }
        } catch let error as LedgerProtocolError {
            // The decoder failed, so no request id can be trusted: 0 marks the connection as a whole.
            await self.closing(after: error, requestID: 0, channel: channel, responses: responses)
        } catch {
            // The peer went away (a reset, a TLS peer closing without close_notify), or the connection ended.
            self.logger.debug("connection lost", metadata: ["peer": "\(access.peer)", "error": "\(error)"])
        }
    }

    /// Writes what is owed, in request order, until the reader is done and everything is written.
    private func writeResponses(
        from responses: ResponseQueue, to outbound: NIOAsyncChannelOutboundWriter<LedgerFrame>, inHand: RequestsInHand
    ) async throws {
        while let pending = await responses.next() {
            if case .stream(let requestID, let subscription, let after) = pending {
                try await self.stream(subscription, after: after, requestID: requestID, to: outbound)
                responses.written(responses: 1, bytes: pending.bytes)
                inHand.answered()
                continue
            }
            // Acks of one commit complete together: write what is already owed in one flush.
            var frames = [try await Self.resolve(pending)]
            var bytes = pending.bytes
            while frames.count < Self.framesPerWrite, bytes < Self.bytesPerWrite, let more = responses.nextIfSettled() {
                frames.append(try await Self.resolve(more))
                bytes += more.bytes
            }
            try await outbound.write(contentsOf: frames)
            responses.written(responses: frames.count, bytes: bytes)
            inHand.answered(frames.count)
        }
    }

    /// A connection that is ending waits for its answers only so long: a peer that does not read them is closed.
    private func closeIfStillOwing(_ channel: any Channel, _ responses: ResponseQueue, after deadline: Duration, _ message: Logger.Message) {
        let logger = self.logger
        channel.eventLoop.scheduleTask(in: TimeAmount(deadline)) {
            guard channel.isActive else { return }
            let owed = responses.owed
            logger.notice(
                message,
                metadata: ["answers_abandoned": "\(owed.responses)", "bytes_abandoned": "\(owed.bytes)"])
            channel.close(promise: nil)
        }
    }

    /// Writes a tail: the stored events after the cursor first, then live commits, each exactly once.
    ///
    /// Commit sequence numbers order both parts, so a live event that the catch-up already sent is skipped.
    private func stream(
        _ subscription: TailSubscription, after: TailCursor?, requestID: UInt32, to outbound: NIOAsyncChannelOutboundWriter<LedgerFrame>
    ) async throws {
        // An empty first batch tells the subscriber it is live, and where it would resume from if it
        // saw nothing more: its own cursor, or the newest commit now (none when the store cannot say).
        var start = after
        if start == nil, let newest = try? await self.dispatcher.store.latestSequence() { start = TailCursor(sequence: newest) }
        try await outbound.write(LedgerResponse.tail(TailBatch(events: [], next: start)).frame(requestID: requestID))
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
                try await outbound.write(LedgerResponse.tail(TailBatch(events: page.map(\.withCanonicalMetadata), next: page.last?.tailCursor)).frame(requestID: requestID))
                last = newest
            }
        }
        while let batch = await subscription.next() {
            let fresh = last < 0 ? batch.events : batch.events.filter { ($0.sequence ?? Int64.max) > last }
            guard !fresh.isEmpty || batch.missed > 0 else { continue }
            try await outbound.write(
                LedgerResponse.tail(TailBatch(missed: batch.missed, events: fresh.map(\.withCanonicalMetadata), next: fresh.last?.tailCursor))
                    .frame(requestID: requestID))
        }
    }

    /// Tells a peer it may not connect, in one error frame, and closes.
    func refuse(_ connection: NIOAsyncChannel<LedgerFrame, LedgerFrame>, _ response: ErrorResponse) async {
        self.logger.notice("refused a connection", metadata: ["reason": "\(response.message)"])
        try? await connection.executeThenClose { _, outbound in
            try await outbound.write(LedgerResponse.error(response).frame(requestID: 0))
        }
    }

    private func closing(after error: LedgerProtocolError, requestID: UInt32, channel: any Channel, responses: ResponseQueue) async {
        self.dispatcher.stats.add(\.protocolErrors)
        self.logger.info("closing connection after a protocol error", metadata: ["error": "\(error)"])
        var response = ErrorResponse(error)
        response.closesConnection = true
        // The error goes after the answers owed; a peer that reads none of them is not waited for.
        self.closeIfStillOwing(
            channel, responses, after: self.dispatcher.configuration.closingDeadline,
            "closing a connection that did not take its answers after a protocol error")
        _ = await responses.push(.ready(LedgerResponse.error(response).frame(requestID: requestID)))
    }

    /// Waits for a commit when the response is an ack; a failed commit becomes an error frame.
    ///
    /// - Throws: `CancellationError` when the connection ended while the commit was pending.
    static func resolve(_ pending: ResponseQueue.Pending) async throws -> LedgerFrame {
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
            } catch let error as CancellationError {
                throw error
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
