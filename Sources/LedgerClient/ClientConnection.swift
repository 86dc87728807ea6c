import LedgerProtocol
import LedgerTLS
import NIOConcurrencyHelpers
import NIOCore
import NIOPosix
import NIOSSL

/// The client's one connection to the daemon and everything waiting on it.
///
/// Log calls only take a lock and append an encoded frame to a bounded buffer;
/// all socket work happens on one event loop. When the daemon cannot be
/// reached the connection backs off (doubling, capped), and during back-off log
/// calls are dropped and counted without touching the system.
final class ClientConnection: Sendable {
    private enum Link {
        case idle
        case connecting
        case connected(any Channel)
        case backingOff
        case shutdown
    }

    private struct State {
        var link: Link = .idle
        var pending: ByteBuffer
        /// The buffer handed to the socket by the previous write. Once the channel has sent it, it is
        /// ours alone again and becomes the next `pending` without an allocation.
        var spare: ByteBuffer?
        var pendingEvents = 0
        var flushScheduled = false
        var nextRequestID: UInt32 = 1
        var statistics = ClientStatistics(sent: 0, droppedUnreachable: 0, droppedBufferFull: 0, rejected: 0)
        var backoff: TimeAmount
        var lastFailure = LedgerClientError(code: .unreachable, message: "not connected yet")
        var responseWaiters: [UInt32: EventLoopPromise<LedgerResponse>] = [:]
        var connectWaiters: [EventLoopPromise<any Channel>] = []
        /// Why the current connection is being closed, when the peer told us (a TLS alert).
        var closeReason: LedgerClientError?
        /// Drops not yet reported, and reports sent but not yet acknowledged (resent with the same id).
        var drops = DropTally()
        var unsentGapReports: [(report: ReportGap, inFlight: Bool)] = []
        var gapReportScheduled = false
    }

    /// What a send buffer starts with, and the most a reused one may keep after a burst grew it.
    static let sendBufferCapacity = 4_096
    static let largestReusedSendBuffer = 64 * 1_024

    /// Reports waiting beyond this (a daemon that keeps failing to store them) are dropped oldest first.
    static let maximumUnsentGapReports = 64

    let configuration: LedgerClientConfiguration
    let eventLoop: any EventLoop
    private let state: NIOLockedValueBox<State>
    private let allocator = ByteBufferAllocator()
    /// Built once: a bad certificate file fails every connection attempt with the same clear error.
    private let tlsContext: Result<NIOSSLContext, LedgerClientError>?

    init(configuration: LedgerClientConfiguration) {
        self.configuration = configuration
        self.tlsContext = configuration.tls.map { endpoint in Result { () throws(LedgerClientError) in try endpoint.makeContext() } }
        self.eventLoop = configuration.eventLoopGroup.next()
        self.state = NIOLockedValueBox(
            State(pending: ByteBufferAllocator().buffer(capacity: Self.sendBufferCapacity), backoff: configuration.initialBackoff))
    }

    var statistics: ClientStatistics {
        self.state.withLockedValue { state in
            var statistics = state.statistics
            let spans = [state.drops.daemonUnreachable, state.drops.bufferFull, state.drops.rejected]
            let unsent = state.unsentGapReports.reduce(UInt64(0)) { $0 + $1.report.events }
            statistics.dropsUnreported = Int(clamping: spans.reduce(unsent) { $0 + $1.events })
            return statistics
        }
    }

    // MARK: Fire-and-forget

    /// Buffers a request that expects no answer; never blocks on I/O and never throws.
    func enqueue(_ request: LedgerRequest, events: Int) {
        let scheduleFlush: Bool? = self.state.withLockedValue { state in
            switch state.link {
            case .backingOff, .shutdown:
                state.statistics.droppedUnreachable += events
                state.drops.add(events, .daemonUnreachable, at: LedgerClient.now())
                return false
            case .idle, .connecting, .connected:
                break
            }
            let mark = state.pending.writerIndex
            request.encode(requestID: 0, into: &state.pending)
            if state.pending.readableBytes > self.configuration.bufferLimitBytes {
                state.pending.moveWriterIndex(to: mark)
                state.statistics.droppedBufferFull += events
                state.drops.add(events, .bufferFull, at: LedgerClient.now())
                return nil
            }
            state.pendingEvents += events
            if state.flushScheduled { return false }
            state.flushScheduled = true
            return true
        }
        switch scheduleFlush {
        case true?: self.eventLoop.execute { self.flushPending() }
        case false?: break
        case nil: self.scheduleGapReport()
        }
    }

    /// Hands the buffered frames to the socket, connecting first if needed. Runs on `eventLoop`.
    private func flushPending() {
        enum Action {
            case write(any Channel, ByteBuffer)
            case connect
            case nothing
        }
        let action: Action = self.state.withLockedValue { state in
            state.flushScheduled = false
            switch state.link {
            case .connected(let channel):
                // A full socket means the daemon is behind: keep the frames here, where the buffer
                // limit applies, and try again when the channel becomes writable.
                guard channel.isWritable, state.pending.readableBytes > 0 else { return .nothing }
                let buffer = state.pending
                if var reused = state.spare.take() {
                    // Allocates only when the socket still holds the previous write.
                    reused.clear()
                    state.pending = reused
                } else {
                    state.pending = self.allocator.buffer(capacity: Self.sendBufferCapacity)
                }
                // A burst's large buffer goes with its write instead of staying with an idle client.
                state.spare = buffer.capacity <= Self.largestReusedSendBuffer ? buffer : nil
                state.statistics.sent += state.pendingEvents
                state.pendingEvents = 0
                return .write(channel, buffer)
            case .idle:
                return state.pending.readableBytes > 0 ? .connect : .nothing
            case .connecting, .backingOff, .shutdown:
                return .nothing
            }
        }
        switch action {
        case .write(let channel, let buffer): channel.writeAndFlush(buffer, promise: nil)
        case .connect: self.connect()
        case .nothing: break
        }
    }

    // MARK: Connecting

    private func connect() {
        self.eventLoop.preconditionInEventLoop()
        let proceed: Bool = self.state.withLockedValue { state in
            guard case .idle = state.link else { return false }
            state.link = .connecting
            state.statistics.connectionAttempts += 1
            return true
        }
        guard proceed else { return }
        let maximumResponseLength = self.configuration.maximumResponseLength
        let tls: (endpoint: LedgerTLSEndpoint, context: NIOSSLContext)?
        switch (self.configuration.tls, self.tlsContext) {
        case (let endpoint?, .success(let context)?):
            tls = (endpoint, context)
        case (_?, .failure(let error)?):
            self.connectFailed(error)
            return
        default:
            tls = nil
        }
        // Completed on every path: handshake done, refused, timed out, or the TCP connect itself failed.
        let handshake = tls.map { ClientChannelSetup.handshakePromise(on: self.eventLoop, deadline: self.configuration.connectTimeout, endpoint: $0.endpoint) }
        let bootstrap = ClientBootstrap(group: self.eventLoop)
            .connectTimeout(self.configuration.connectTimeout)
            .channelInitializer { channel in
                channel.eventLoop.makeCompletedFuture {
                    try ClientChannelSetup.addHandlers(
                        to: channel, tls: tls.map { ($0.endpoint, $0.context) }, handshake: handshake,
                        maximumResponseLength: maximumResponseLength)
                    try channel.pipeline.syncOperations.addHandler(ClientResponseHandler(connection: self))
                }
            }
        let connected: EventLoopFuture<any Channel>
        if let tls, let handshake {
            let opened = bootstrap.connect(host: tls.endpoint.host, port: tls.endpoint.port)
            opened.whenFailure { handshake.fail($0) }
            connected = opened.flatMap { channel in
                // Connected means verified both ways; until then nothing is written.
                handshake.futureResult.map { channel }.flatMapErrorThrowing { error in
                    channel.close(promise: nil)
                    throw error
                }
            }
        } else if let untrusted = self.configuration.untrustedSocket {
            connected = self.eventLoop.makeFailedFuture(untrusted)
        } else {
            connected = bootstrap.connect(unixDomainSocketPath: self.configuration.socketPath)
        }
        connected.whenComplete { result in
            switch result {
            case .success(let channel): self.connected(channel)
            case .failure(let error): self.connectFailed(error)
            }
        }
    }

    private func connected(_ channel: any Channel) {
        let (waiters, current): ([EventLoopPromise<any Channel>], Bool) = self.state.withLockedValue { state in
            defer { state.connectWaiters = [] }
            guard case .connecting = state.link else { return (state.connectWaiters, false) }
            state.link = .connected(channel)
            state.backoff = self.configuration.initialBackoff
            return (state.connectWaiters, true)
        }
        guard current else {
            // Shut down while connecting: the connection is not used, and nobody waits for it.
            channel.close(promise: nil)
            for waiter in waiters { waiter.fail(Self.shutDownError) }
            return
        }
        self.flushPending()
        self.reportGaps(on: channel)
        for waiter in waiters { waiter.succeed(channel) }
    }

    private func connectFailed(_ error: any Error) {
        let failure = Self.failure(error, endpoint: self.configuration.endpointDescription)
        let (waiters, delay): ([EventLoopPromise<any Channel>], TimeAmount?) = self.state.withLockedValue { state in
            defer { state.connectWaiters = [] }
            guard case .connecting = state.link else { return (state.connectWaiters, nil) }
            state.link = .backingOff
            state.lastFailure = failure
            state.statistics.droppedUnreachable += state.pendingEvents
            state.drops.add(state.pendingEvents, .daemonUnreachable, at: LedgerClient.now())
            state.pendingEvents = 0
            state.pending.clear()
            let delay = state.backoff
            state.backoff = min(state.backoff * 2, self.configuration.maximumBackoff)
            return (state.connectWaiters, delay)
        }
        for waiter in waiters {
            waiter.fail(delay == nil ? Self.shutDownError : failure)
        }
        guard let delay else { return }
        // After the pause the next log call (or request) tries again; until then calls are dropped.
        // With drops still to report the client tries by itself, so a gap reaches the operator even
        // from a service that has stopped logging.
        self.eventLoop.scheduleTask(in: delay) {
            let retry: Bool = self.state.withLockedValue { state in
                guard case .backingOff = state.link else { return false }
                state.link = .idle
                return !state.drops.isEmpty || !state.unsentGapReports.isEmpty
            }
            if retry { self.connect() }
        }
    }

    /// One line saying why a connection could not be made, TLS failures named as such.
    static func failure(_ error: any Error, endpoint: String) -> LedgerClientError {
        if let error = error as? LedgerClientError { return error }
        if let reason = TLSFailure.clientReason(error) {
            return LedgerClientError(code: .tlsHandshake, message: "TLS handshake with ledgerd at \(endpoint) failed: \(reason)")
        }
        if endpoint.hasPrefix("/") || endpoint.hasPrefix("."), Self.errno(of: error) == EACCES {
            return LedgerClientError(code: .unreachable, message: "cannot connect to ledgerd at \(endpoint): \(SocketPermission.explanation(for: endpoint))")
        }
        return LedgerClientError(code: .unreachable, message: "cannot connect to ledgerd at \(endpoint): \(Self.describe(error))")
    }

    static func errno(of error: any Error) -> Int32? {
        if let error = error as? NIOConnectionError, let first = error.connectionErrors.first { return Self.errno(of: first.error) }
        return (error as? IOError)?.errnoCode
    }

    static func describe(_ error: any Error) -> String {
        if let error = error as? NIOConnectionError, let first = error.connectionErrors.first {
            return Self.describe(first.error)
        }
        if let error = error as? IOError {
            return String(cString: strerror(error.errnoCode))
        }
        if let error = error as? ChannelError, case .connectTimeout = error {
            return "connection timed out"
        }
        return "\(error)"
    }

    // MARK: Requests with an answer

    /// Sends a request and waits for the daemon's answer (an error frame becomes a thrown error).
    ///
    /// The request timeout runs from this call, so it covers connecting as well as the answer.
    func request(_ request: LedgerRequest) async throws -> LedgerResponse {
        let promise = self.makeResponsePromise()
        self.eventLoop.execute { self.start(request, promise: promise) }
        let response = try await promise.futureResult.get()
        if case .error(let error) = response {
            throw LedgerClientError(code: .rejected, message: "ledgerd rejected the request: \(error)", serverError: error)
        }
        return response
    }

    static let shutDownError = LedgerClientError(code: .shutdown, message: "the ledger client was shut down")

    /// A promise for one answer that fails by itself after the request timeout; the timer goes when it completes.
    private func makeResponsePromise() -> EventLoopPromise<LedgerResponse> {
        let promise = self.eventLoop.makePromise(of: LedgerResponse.self)
        let timeout = self.configuration.requestTimeout
        let timer = self.eventLoop.scheduleTask(in: timeout) {
            promise.fail(LedgerClientError(code: .timeout, message: "ledgerd did not answer within \(Self.describe(timeout))"))
        }
        promise.futureResult.whenComplete { _ in timer.cancel() }
        return promise
    }

    static func describe(_ amount: TimeAmount) -> String {
        let milliseconds = amount.nanoseconds / 1_000_000
        if milliseconds % 1_000 == 0 { return "\(milliseconds / 1_000) s" }
        return "\(milliseconds) ms"
    }

    private func start(_ request: LedgerRequest, promise: EventLoopPromise<LedgerResponse>) {
        enum Action {
            case write(any Channel)
            case connectThenWrite(EventLoopFuture<any Channel>)
            case waitForConnection(EventLoopFuture<any Channel>)
            case fail(LedgerClientError)
        }
        // One lock decides and registers, so a shutdown cannot slip between the two and strand the waiter.
        let action: Action = self.state.withLockedValue { state in
            switch state.link {
            case .connected(let channel): return .write(channel)
            case .idle, .connecting:
                let connection = self.eventLoop.makePromise(of: (any Channel).self)
                state.connectWaiters.append(connection)
                if case .idle = state.link { return .connectThenWrite(connection.futureResult) }
                return .waitForConnection(connection.futureResult)
            case .backingOff: return .fail(state.lastFailure)
            case .shutdown: return .fail(Self.shutDownError)
            }
        }
        switch action {
        case .write(let channel):
            self.write(request, on: channel, promise: promise)
        case .connectThenWrite(let connection), .waitForConnection(let connection):
            connection.whenComplete { result in
                switch result {
                case .success(let channel): self.write(request, on: channel, promise: promise)
                case .failure(let error): promise.fail(error)
                }
            }
            if case .connectThenWrite = action { self.connect() }
        case .fail(let error):
            promise.fail(error)
        }
    }

    private func write(_ request: LedgerRequest, on channel: any Channel, promise: EventLoopPromise<LedgerResponse>) {
        self.eventLoop.preconditionInEventLoop()
        // Buffered fire-and-forget frames go first, so a sync really follows them.
        self.flushPending()
        let requestID: UInt32 = self.state.withLockedValue { state in
            let id = state.nextRequestID
            state.nextRequestID = id == UInt32.max ? 1 : id + 1
            state.responseWaiters[id] = promise
            return id
        }
        promise.futureResult.whenComplete { _ in
            // A timed-out request's slot is freed; an answer arriving later finds no waiter and is dropped.
            self.state.withLockedValue { state in
                if state.responseWaiters[requestID]?.futureResult === promise.futureResult {
                    state.responseWaiters.removeValue(forKey: requestID)
                }
            }
        }
        var buffer = channel.allocator.buffer(capacity: 128)
        request.encode(requestID: requestID, into: &buffer)
        channel.writeAndFlush(buffer, promise: nil)
    }

    // MARK: Gap reports

    /// Reports what was dropped since the last report, and resends reports whose ack never came
    /// (with their ids, so the daemon stores each once). Runs on `eventLoop` once connected.
    private func reportGaps(on channel: any Channel) {
        self.eventLoop.preconditionInEventLoop()
        let reports: [ReportGap] = self.state.withLockedValue { state in
            state.gapReportScheduled = false
            guard case .connected(let current) = state.link, current === channel else { return [] }
            let client = String(decoding: self.configuration.clientName.utf8.prefix(LedgerEvent.Limits.entityID), as: UTF8.self)
            let fresh = state.drops.takeReports(client: client) { LedgerClient.newIDAndTimestamp().0 }
            state.unsentGapReports += fresh.map { ($0, false) }
            if state.unsentGapReports.count > Self.maximumUnsentGapReports {
                state.unsentGapReports.removeFirst(state.unsentGapReports.count - Self.maximumUnsentGapReports)
            }
            var reports: [ReportGap] = []
            for index in state.unsentGapReports.indices where !state.unsentGapReports[index].inFlight {
                state.unsentGapReports[index].inFlight = true
                reports.append(state.unsentGapReports[index].report)
            }
            return reports
        }
        for report in reports {
            let promise = self.makeResponsePromise()
            self.write(.reportGap(report), on: channel, promise: promise)
            promise.futureResult.whenComplete { result in
                let settled: Bool
                switch result {
                case .success(.error(let error)):
                    // Kept for the next connection only if the daemon may store it then.
                    settled = error.code != .storeUnavailable && error.code != .shuttingDown
                case .success: settled = true
                case .failure: settled = false
                }
                self.state.withLockedValue { state in
                    guard let index = state.unsentGapReports.firstIndex(where: { $0.report.id == report.id }) else { return }
                    guard settled else {
                        state.unsentGapReports[index].inFlight = false
                        return
                    }
                    state.unsentGapReports.remove(at: index)
                    if case .success(.ack) = result { state.statistics.gapReportsStored += 1 }
                }
            }
        }
    }

    /// Sends what is left to report now, when connected; a flush calls it so its sync follows the reports.
    func reportGapsNow() {
        self.eventLoop.execute {
            let channel: (any Channel)? = self.state.withLockedValue { state in
                guard case .connected(let channel) = state.link else { return nil }
                return channel
            }
            if let channel { self.reportGaps(on: channel) }
        }
    }

    /// Drops that happen while connected are reported shortly after, several drops to one report.
    private func scheduleGapReport() {
        let channel: (any Channel)? = self.state.withLockedValue { state in
            guard case .connected(let channel) = state.link, !state.gapReportScheduled else { return nil }
            state.gapReportScheduled = true
            return channel
        }
        guard let channel else { return }
        self.eventLoop.scheduleTask(in: self.configuration.gapReportDelay) { self.reportGaps(on: channel) }
    }

    // MARK: Events from the channel

    func received(_ frame: LedgerFrame, from channel: any Channel) {
        let response: LedgerResponse
        do {
            response = try LedgerResponse.decode(frame)
        } catch {
            self.failAll(LedgerClientError(code: .protocolViolation, message: "unreadable answer from ledgerd: \(error)"))
            channel.close(promise: nil)
            return
        }
        if case .error(let error) = response, error.closesConnection || frame.requestID == 0 {
            if frame.requestID == 0 && !error.closesConnection {
                self.state.withLockedValue { state in
                    state.statistics.rejected += 1
                    state.drops.add(1, .rejected, at: LedgerClient.now())
                }
                self.scheduleGapReport()
                return
            }
            self.failAll(LedgerClientError(code: .rejected, message: "ledgerd closed the connection: \(error)", serverError: error))
            return
        }
        let waiter = self.state.withLockedValue { $0.responseWaiters.removeValue(forKey: frame.requestID) }
        waiter?.succeed(response)
    }

    func writabilityChanged(_ channel: any Channel) {
        if channel.isWritable { self.flushPending() }
    }

    /// Closes the channel after an error; a TLS alert (our certificate refused) becomes the reason waiters see.
    func failed(_ channel: any Channel, error: any Error) {
        if let reason = TLSFailure.clientReason(error) {
            self.state.withLockedValue { state in
                state.closeReason = LedgerClientError(
                    code: .tlsHandshake, message: "TLS handshake with ledgerd at \(self.configuration.endpointDescription) failed: \(reason)")
            }
        }
        channel.close(promise: nil)
    }

    func closed(_ channel: any Channel) {
        let (waiters, reason): ([EventLoopPromise<LedgerResponse>], LedgerClientError?) = self.state.withLockedValue { state in
            defer { state.closeReason = nil }
            guard case .connected(let current) = state.link, current === channel else { return ([], nil) }
            // Reconnect on the next call; a refused attempt then starts the back-off.
            state.link = .idle
            state.lastFailure = LedgerClientError(
                code: .unreachable, message: "connection to ledgerd at \(self.configuration.endpointDescription) closed")
            defer { state.responseWaiters = [:] }
            return (Array(state.responseWaiters.values), state.closeReason)
        }
        let error = reason ?? LedgerClientError(code: .connectionClosed, message: "ledgerd closed the connection before answering")
        for waiter in waiters { waiter.fail(error) }
        // Events logged while the connection was going down are still buffered: send them on a new one.
        self.eventLoop.execute { self.flushPending() }
    }

    private func failAll(_ error: LedgerClientError) {
        let waiters = self.state.withLockedValue { state in
            defer { state.responseWaiters = [:] }
            return Array(state.responseWaiters.values)
        }
        for waiter in waiters { waiter.fail(error) }
    }

    func shutdown() async {
        let (channel, connectWaiters): ((any Channel)?, [EventLoopPromise<any Channel>]) = self.state.withLockedValue { state in
            defer {
                state.link = .shutdown
                state.connectWaiters = []
            }
            if case .connected(let channel) = state.link { return (channel, state.connectWaiters) }
            return (nil, state.connectWaiters)
        }
        for waiter in connectWaiters { waiter.fail(Self.shutDownError) }
        try? await channel?.close()
        self.failAll(Self.shutDownError)
    }
}

/// Forwards what arrives on the channel to its `ClientConnection`.
final class ClientResponseHandler: ChannelInboundHandler, Sendable {
    typealias InboundIn = LedgerFrame

    let connection: ClientConnection

    init(connection: ClientConnection) {
        self.connection = connection
    }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        self.connection.received(Self.unwrapInboundIn(data), from: context.channel)
    }

    func channelWritabilityChanged(context: ChannelHandlerContext) {
        self.connection.writabilityChanged(context.channel)
        context.fireChannelWritabilityChanged()
    }

    func channelInactive(context: ChannelHandlerContext) {
        self.connection.closed(context.channel)
        context.fireChannelInactive()
    }

    func errorCaught(context: ChannelHandlerContext, error: any Error) {
        self.connection.failed(context.channel, error: error)
    }
}
