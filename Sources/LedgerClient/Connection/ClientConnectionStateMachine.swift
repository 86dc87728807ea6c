import Foundation
import LedgerProtocol
import NIOCore

/// Everything a client's connection to the daemon knows, and every decision it makes, with no I/O.
///
/// Each method takes one event (a log call, a connect that succeeded or failed, an answer read, a
/// timer fired, a shutdown) and returns what to do; `ClientConnection` only carries the actions out.
/// Every way out of a state completes whatever waits on it, so no request can be stranded: a
/// request waits either for a connection (`waiting`) or for its answer (`outstanding`), and each
/// transition that ends either list hands its waiters back to be failed.
///
/// - `Transport` is the channel a connection writes to; `Waiter` is what a caller waits on.
struct ClientConnectionStateMachine<Transport, Waiter> {
    typealias ConnectionID = UInt64
    /// Names one request for its deadline, from the moment it is made until it is answered.
    typealias RequestToken = UInt64

    /// What the connection may do, fixed when the client is made.
    struct Settings: Sendable {
        var bufferLimitBytes: Int
        var requestTimeout: TimeAmount
        var initialBackoff: TimeAmount
        var maximumBackoff: TimeAmount
        var gapReportDelay: TimeAmount
        /// The name gap reports carry.
        var clientName: String
        /// Where the client connects, for error messages.
        var endpoint: String
    }

    enum Link {
        /// Not connected; the next log call or request connects.
        case idle
        case connecting(ConnectionID)
        case connected(ConnectionID, Transport)
        /// The last attempt failed: calls are dropped (or fail) until the pause ends.
        case backingOff
        case closed
    }

    enum Action {
        case none
        /// Run `flushDue()` on the event loop soon; several log calls share one write.
        case scheduleFlush
        /// Run `gapReportDue()` after the delay.
        case scheduleGapReport(after: TimeAmount)
        /// Run `retryDue()` after the pause.
        case scheduleRetry(after: TimeAmount)
        /// Open a connection and report its outcome with this id.
        case connect(ConnectionID)
        /// Write the bytes, when there are any, and start a deadline for each request named.
        case send(Transport, ByteBuffer?, deadlines: [RequestToken])
        case succeed(Waiter, LedgerResponse)
        case fail([Waiter], LedgerClientError)
        case close(Transport)
    }

    /// A request that is out on the wire, by request id.
    fileprivate enum Outstanding {
        case caller(RequestToken, Waiter)
        case gapReport(RequestToken, UUID)

        var token: RequestToken {
            switch self {
            case .caller(let token, _), .gapReport(let token, _): token
            }
        }
    }

    static var shutDownError: LedgerClientError {
        LedgerClientError(code: .shutdown, message: "the ledger client was shut down")
    }

    let settings: Settings
    private(set) var link: Link = .idle
    private var sendBuffer: ClientSendBuffer
    private var gaps = ClientGapReporter()
    /// Whether the socket takes more; while it does not, frames stay in `sendBuffer`, where the limit applies.
    private var writable = true
    private var flushScheduled = false
    private var backoff: TimeAmount
    private var lastFailure: LedgerClientError
    /// Why the current connection is being closed, when the peer told us (a TLS alert).
    private var closeReason: LedgerClientError?
    /// Requests made while not connected, in order, written once a connection is up.
    private var waiting: [(token: RequestToken, request: LedgerRequest, waiter: Waiter)] = []
    private var outstanding: [UInt32: Outstanding] = [:]
    private var nextConnectionID: ConnectionID = 1
    private var nextToken: RequestToken = 1
    private var nextRequestID: UInt32 = 1
    private var counters = ClientStatistics(sent: 0, droppedUnreachable: 0, droppedBufferFull: 0, rejected: 0)
    /// The time a drop is recorded at, and the id a new gap report gets: given, so tests choose them.
    private let now: @Sendable () -> LedgerTimestamp
    private let makeID: @Sendable () -> UUID

    init(settings: Settings, now: @escaping @Sendable () -> LedgerTimestamp, makeID: @escaping @Sendable () -> UUID) {
        self.settings = settings
        self.sendBuffer = ClientSendBuffer(limitBytes: settings.bufferLimitBytes)
        self.backoff = settings.initialBackoff
        self.lastFailure = LedgerClientError(code: .unreachable, message: "not connected yet")
        self.now = now
        self.makeID = makeID
    }

    var statistics: ClientStatistics {
        var statistics = self.counters
        statistics.dropsUnreported = Int(clamping: self.gaps.unreportedEvents)
        return statistics
    }

    // MARK: Log calls

    /// A fire-and-forget request from any thread: buffered, or dropped and counted.
    mutating func enqueue(_ request: LedgerRequest, events: Int) -> Action {
        switch self.link {
        case .backingOff, .closed:
            self.counters.droppedUnreachable += events
            self.gaps.record(events, .daemonUnreachable, at: self.now())
            return .none
        case .idle, .connecting, .connected:
            break
        }
        guard self.sendBuffer.append(request, events: events) else {
            self.counters.droppedBufferFull += events
            self.gaps.record(events, .bufferFull, at: self.now())
            return self.gapReportSoon()
        }
        if self.flushScheduled { return .none }
        self.flushScheduled = true
        return .scheduleFlush
    }

    /// The flush scheduled by a log call runs.
    mutating func flushDue() -> Action {
        self.flushScheduled = false
        return self.flush()
    }

    private mutating func flush() -> Action {
        switch self.link {
        case .connected:
            return self.send(deadlines: [])
        case .idle:
            return self.sendBuffer.isEmpty ? .none : self.startConnecting()
        case .connecting, .backingOff, .closed:
            return .none
        }
    }

    private mutating func send(deadlines: [RequestToken]) -> Action {
        guard case .connected(_, let transport) = self.link else { return .none }
        var bytes: ByteBuffer?
        if self.writable, let taken = self.sendBuffer.take() {
            self.counters.sent += taken.events
            bytes = taken.bytes
        }
        if bytes == nil && deadlines.isEmpty { return .none }
        return .send(transport, bytes, deadlines: deadlines)
    }

    private mutating func startConnecting() -> Action {
        let id = self.nextConnectionID
        self.nextConnectionID += 1
        self.link = .connecting(id)
        self.counters.connectionAttempts += 1
        return .connect(id)
    }

    // MARK: Requests with an answer

    /// A request whose answer `waiter` waits for. The token, when there is one, names the request's
    /// deadline, which starts now and so covers connecting as well as the answer.
    mutating func request(_ request: LedgerRequest, waiter: Waiter) -> (deadline: RequestToken?, action: Action) {
        switch self.link {
        case .backingOff:
            return (nil, .fail([waiter], self.lastFailure))
        case .closed:
            return (nil, .fail([waiter], Self.shutDownError))
        case .idle, .connecting:
            let token = self.takeToken()
            self.waiting.append((token, request, waiter))
            if case .idle = self.link { return (token, self.startConnecting()) }
            return (token, .none)
        case .connected:
            let token = self.takeToken()
            self.write(request, as: .caller(token, waiter))
            return (token, self.send(deadlines: []))
        }
    }

    /// A request's deadline passed; a late answer finds no waiter and is dropped.
    mutating func requestTimedOut(_ token: RequestToken) -> Action {
        if let index = self.waiting.firstIndex(where: { $0.token == token }) {
            return .fail([self.waiting.remove(at: index).waiter], self.timeoutError)
        }
        guard let (requestID, entry) = self.outstanding.first(where: { $0.value.token == token }) else { return .none }
        self.outstanding.removeValue(forKey: requestID)
        switch entry {
        case .caller(_, let waiter):
            return .fail([waiter], self.timeoutError)
        case .gapReport(_, let id):
            self.gaps.retryLater(id)
            return .none
        }
    }

    private var timeoutError: LedgerClientError {
        LedgerClientError(code: .timeout, message: "ledgerd did not answer within \(Self.describe(self.settings.requestTimeout))")
    }

    private mutating func takeToken() -> RequestToken {
        defer { self.nextToken += 1 }
        return self.nextToken
    }

    private mutating func write(_ request: LedgerRequest, as entry: Outstanding) {
        let requestID = self.nextRequestID
        self.nextRequestID = requestID == UInt32.max ? 1 : requestID + 1
        self.outstanding[requestID] = entry
        self.sendBuffer.append(request, requestID: requestID)
    }

    // MARK: Connecting

    mutating func connectSucceeded(_ id: ConnectionID, transport: Transport, writable: Bool) -> Action {
        guard case .connecting(id) = self.link else {
            // Shut down while connecting: the connection is not used, and nobody waits for it.
            return .close(transport)
        }
        self.link = .connected(id, transport)
        self.backoff = self.settings.initialBackoff
        self.writable = writable
        // Buffered log calls first, then the gap reports, then the requests that waited.
        let deadlines = self.writeGapReports()
        for entry in self.waiting {
            self.write(entry.request, as: .caller(entry.token, entry.waiter))
        }
        self.waiting = []
        return self.send(deadlines: deadlines)
    }

    /// The attempt failed: what was buffered is dropped, the waiters fail, and calls are dropped
    /// until the pause (doubling, capped) ends.
    mutating func connectFailed(_ id: ConnectionID, error: LedgerClientError) -> [Action] {
        guard case .connecting(id) = self.link else { return [] }
        self.link = .backingOff
        self.lastFailure = error
        let dropped = self.sendBuffer.discard()
        self.counters.droppedUnreachable += dropped
        self.gaps.record(dropped, .daemonUnreachable, at: self.now())
        let delay = self.backoff
        self.backoff = min(self.backoff * 2, self.settings.maximumBackoff)
        let waiters = self.waiting.map(\.waiter)
        self.waiting = []
        return [.fail(waiters, error), .scheduleRetry(after: delay)]
    }

    /// The pause after a failed attempt ends: the next call connects. With drops still to report the
    /// client tries by itself, so a gap reaches the operator even from a service that stopped logging.
    mutating func retryDue() -> Action {
        guard case .backingOff = self.link else { return .none }
        self.link = .idle
        return self.gaps.hasWork ? self.startConnecting() : .none
    }

    // MARK: Gap reports

    /// The delay after a drop while connected has passed.
    mutating func gapReportDue() -> Action {
        self.gaps.reportScheduled = false
        return self.reportGaps()
    }

    /// Sends what is left to report now, when connected; a flush asks, so its sync follows the reports.
    mutating func reportGaps() -> Action {
        guard case .connected = self.link else { return .none }
        return self.send(deadlines: self.writeGapReports())
    }

    private mutating func gapReportSoon() -> Action {
        guard case .connected = self.link, !self.gaps.reportScheduled else { return .none }
        self.gaps.reportScheduled = true
        return .scheduleGapReport(after: self.settings.gapReportDelay)
    }

    private mutating func writeGapReports() -> [RequestToken] {
        self.gaps.reportsToSend(client: self.settings.clientName, makeID: self.makeID).map { report in
            let token = self.takeToken()
            self.write(.reportGap(report), as: .gapReport(token, report.id))
            return token
        }
    }

    // MARK: Events from the channel

    mutating func answerReceived(_ id: ConnectionID, requestID: UInt32, response: LedgerResponse) -> Action {
        if case .error(let error) = response, error.closesConnection || requestID == 0 {
            guard error.closesConnection else {
                // A refused fire-and-forget event: nobody waits for it, so it is counted and reported.
                self.counters.rejected += 1
                self.gaps.record(1, .rejected, at: self.now())
                return self.gapReportSoon()
            }
            return .fail(
                self.takeOutstanding(), LedgerClientError(code: .rejected, message: "ledgerd closed the connection: \(error)", serverError: error))
        }
        guard let entry = self.outstanding.removeValue(forKey: requestID) else { return .none }
        switch entry {
        case .caller(_, let waiter):
            return .succeed(waiter, response)
        case .gapReport(_, let reportID):
            if self.gaps.settle(reportID, answer: response) { self.counters.gapReportsStored += 1 }
            return .none
        }
    }

    /// A frame that is not a response this client knows: the connection cannot be trusted further.
    mutating func unreadableAnswer(_ id: ConnectionID, error: any Error) -> [Action] {
        let failed = Action.fail(
            self.takeOutstanding(), LedgerClientError(code: .protocolViolation, message: "unreadable answer from ledgerd: \(error)"))
        guard case .connected(id, let transport) = self.link else { return [failed] }
        return [failed, .close(transport)]
    }

    mutating func writabilityChanged(_ id: ConnectionID, writable: Bool) -> Action {
        guard case .connected(id, _) = self.link else { return .none }
        self.writable = writable
        return writable ? self.send(deadlines: []) : .none
    }

    /// The channel failed and will be closed; a TLS alert (our certificate refused) is kept as the reason waiters see.
    mutating func channelFailed(_ id: ConnectionID, reason: LedgerClientError?) {
        guard case .connected(id, _) = self.link, let reason else { return }
        self.closeReason = reason
    }

    mutating func channelClosed(_ id: ConnectionID) -> [Action] {
        guard case .connected(id, _) = self.link else { return [] }
        // Reconnect on the next call; a refused attempt then starts the back-off.
        self.link = .idle
        self.writable = true
        self.lastFailure = LedgerClientError(code: .unreachable, message: "connection to ledgerd at \(self.settings.endpoint) closed")
        let error = self.closeReason ?? LedgerClientError(code: .connectionClosed, message: "ledgerd closed the connection before answering")
        self.closeReason = nil
        var actions: [Action] = [.fail(self.takeOutstanding(), error)]
        // Events logged while the connection was going down are still buffered: send them on a new one.
        if !self.sendBuffer.isEmpty && !self.flushScheduled {
            self.flushScheduled = true
            actions.append(.scheduleFlush)
        }
        return actions
    }

    /// Empties `outstanding`: the callers' waiters to fail, the gap reports to resend later.
    private mutating func takeOutstanding() -> [Waiter] {
        defer { self.outstanding = [:] }
        return self.outstanding.values.compactMap { entry in
            switch entry {
            case .caller(_, let waiter):
                return waiter
            case .gapReport(_, let id):
                self.gaps.retryLater(id)
                return nil
            }
        }
    }

    // MARK: Shutdown

    /// Every waiter fails and the connection closes; later log calls are dropped and requests fail.
    mutating func shutdown() -> [Action] {
        var actions: [Action] = []
        if case .connected(_, let transport) = self.link { actions.append(.close(transport)) }
        self.link = .closed
        let waiters = self.waiting.map(\.waiter) + self.takeOutstanding()
        self.waiting = []
        actions.append(.fail(waiters, Self.shutDownError))
        return actions
    }

    static func describe(_ amount: TimeAmount) -> String {
        let milliseconds = amount.nanoseconds / 1_000_000
        if milliseconds % 1_000 == 0 { return "\(milliseconds / 1_000) s" }
        return "\(milliseconds) ms"
    }
}

extension ClientConnectionStateMachine: Sendable where Transport: Sendable, Waiter: Sendable {}
extension ClientConnectionStateMachine.Link: Sendable where Transport: Sendable {}
extension ClientConnectionStateMachine.Action: Sendable where Transport: Sendable, Waiter: Sendable {}
extension ClientConnectionStateMachine.Outstanding: Sendable where Waiter: Sendable {}
