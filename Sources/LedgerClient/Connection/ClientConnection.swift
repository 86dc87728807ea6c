import LedgerProtocol
import LedgerTLS
import NIOConcurrencyHelpers
import NIOCore
import NIOPosix
import NIOSSL

/// The client's one connection to the daemon: carries out what `ClientConnectionStateMachine` decides.
///
/// Log calls only take the lock once and append an encoded frame to a bounded buffer; all socket
/// work happens on one event loop. Every event takes the lock once, and what it returns is done
/// after the lock is released, so no promise is completed while it is held.
final class ClientConnection: Sendable {
    typealias StateMachine = ClientConnectionStateMachine<any Channel, EventLoopPromise<LedgerResponse>>

    let configuration: LedgerClientConfiguration
    let eventLoop: any EventLoop
    private let state: NIOLockedValueBox<StateMachine>
    /// Built once: a bad certificate file fails every connection attempt with the same clear error.
    private let tlsContext: Result<NIOSSLContext, LedgerClientError>?

    init(configuration: LedgerClientConfiguration) {
        self.configuration = configuration
        self.tlsContext = configuration.tls.map { endpoint in Result { () throws(LedgerClientError) in try endpoint.makeContext() } }
        self.eventLoop = configuration.eventLoopGroup.next()
        let settings = StateMachine.Settings(
            bufferLimitBytes: configuration.bufferLimitBytes, requestTimeout: configuration.requestTimeout,
            initialBackoff: configuration.initialBackoff, maximumBackoff: configuration.maximumBackoff,
            gapReportDelay: configuration.gapReportDelay, clientName: configuration.clientName,
            endpoint: configuration.endpointDescription)
        self.state = NIOLockedValueBox(
            StateMachine(settings: settings, now: LedgerTimestamp.now, makeID: { LedgerClient.newIDAndTimestamp().0 }))
    }

    var statistics: ClientStatistics {
        self.state.withLockedValue { $0.statistics }
    }

    /// Buffers a request that expects no answer; never blocks on I/O and never throws.
    func enqueue(_ request: LedgerRequest, events: Int) {
        self.run(self.state.withLockedValue { $0.enqueue(request, events: events) })
    }

    /// Sends a request and waits for the daemon's answer (an error frame becomes a thrown error).
    func request(_ request: LedgerRequest) async throws -> LedgerResponse {
        let promise = self.eventLoop.makePromise(of: LedgerResponse.self)
        self.eventLoop.execute {
            let (deadline, action) = self.state.withLockedValue { $0.request(request, waiter: promise) }
            if let deadline { self.startDeadline(deadline, for: promise) }
            self.run(action)
        }
        let response = try await promise.futureResult.get()
        if case .error(let error) = response {
            throw LedgerClientError(code: .rejected, message: "ledgerd rejected the request: \(error)", serverError: error)
        }
        return response
    }

    /// Sends what is left to report now, when connected; a flush calls it so its sync follows the reports.
    func reportGapsNow() {
        self.eventLoop.execute { self.run(self.state.withLockedValue { $0.reportGaps() }) }
    }

    func shutdown() async {
        let actions = self.state.withLockedValue { $0.shutdown() }
        for action in actions {
            if case .close(let channel) = action {
                try? await channel.close()
            } else {
                self.run(action)
            }
        }
    }

    // MARK: Carrying out actions

    private func run(_ actions: [StateMachine.Action]) {
        for action in actions { self.run(action) }
    }

    private func run(_ action: StateMachine.Action) {
        switch action {
        case .none:
            break
        case .scheduleFlush:
            self.eventLoop.execute { self.run(self.state.withLockedValue { $0.flushDue() }) }
        case .scheduleGapReport(let delay):
            self.eventLoop.scheduleTask(in: delay) { self.run(self.state.withLockedValue { $0.gapReportDue() }) }
        case .scheduleRetry(let delay):
            self.eventLoop.scheduleTask(in: delay) { self.run(self.state.withLockedValue { $0.retryDue() }) }
        case .connect(let id):
            self.connect(id)
        case .send(let channel, let bytes, let deadlines):
            for token in deadlines { self.startDeadline(token, for: nil) }
            if let bytes { channel.writeAndFlush(bytes, promise: nil) }
        case .succeed(let waiter, let response):
            waiter.succeed(response)
        case .fail(let waiters, let error):
            for waiter in waiters { waiter.fail(error) }
        case .close(let channel):
            channel.close(promise: nil)
        }
    }

    /// Tells the state machine when a request's time is up; the timer goes when the caller's answer comes.
    private func startDeadline(_ token: StateMachine.RequestToken, for promise: EventLoopPromise<LedgerResponse>?) {
        let timer = self.eventLoop.scheduleTask(in: self.configuration.requestTimeout) {
            self.run(self.state.withLockedValue { $0.requestTimedOut(token) })
        }
        promise?.futureResult.whenComplete { _ in timer.cancel() }
    }

    private func connect(_ id: StateMachine.ConnectionID) {
        let tls: (endpoint: LedgerTLSEndpoint, context: NIOSSLContext)?
        switch (self.configuration.tls, self.tlsContext) {
        case (let endpoint?, .success(let context)?): tls = (endpoint, context)
        case (_?, .failure(let error)?):
            self.run(self.state.withLockedValue { $0.connectFailed(id, error: error) })
            return
        default: tls = nil
        }
        let connected = ClientChannelSetup.connect(
            configuration: self.configuration, tls: tls, on: self.eventLoop,
            initializer: { channel in
                try channel.pipeline.syncOperations.addHandler(ClientChannelHandler(events: self, connection: id))
                return channel
            })
        connected.whenComplete { result in
            switch result {
            case .success(let channel):
                self.run(self.state.withLockedValue { $0.connectSucceeded(id, transport: channel, writable: channel.isWritable) })
            case .failure(let error):
                let failure = Self.failure(error, endpoint: self.configuration.endpointDescription)
                self.run(self.state.withLockedValue { $0.connectFailed(id, error: failure) })
            }
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
}

extension ClientConnection: ClientChannelEvents {
    func received(_ frame: LedgerFrame, on id: StateMachine.ConnectionID) {
        do {
            let response = try LedgerResponse.decode(frame)
            self.run(self.state.withLockedValue { $0.answerReceived(id, requestID: frame.requestID, response: response) })
        } catch {
            self.run(self.state.withLockedValue { $0.unreadableAnswer(id, error: error) })
        }
    }

    func writabilityChanged(_ writable: Bool, on id: StateMachine.ConnectionID) {
        self.run(self.state.withLockedValue { $0.writabilityChanged(id, writable: writable) })
    }

    func failed(_ error: any Error, on id: StateMachine.ConnectionID) {
        let reason = TLSFailure.clientReason(error).map {
            LedgerClientError(code: .tlsHandshake, message: "TLS handshake with ledgerd at \(self.configuration.endpointDescription) failed: \($0)")
        }
        self.state.withLockedValue { $0.channelFailed(id, reason: reason) }
    }

    func closed(_ id: StateMachine.ConnectionID) {
        self.run(self.state.withLockedValue { $0.channelClosed(id) })
    }
}
