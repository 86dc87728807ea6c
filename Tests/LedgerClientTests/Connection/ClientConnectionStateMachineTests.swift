import Foundation
import LedgerProtocol
import NIOCore
import Testing

@testable import LedgerClient

/// The client connection's decisions, event by event, with no socket and no clock: every path a
/// connection can take ends every waiter, and frames leave in the order they were made.
@Suite struct ClientConnectionStateMachineTests {
    typealias Machine = ClientConnectionStateMachine<String, Int>

    static let settings = Machine.Settings(
        bufferLimitBytes: 4_096, requestTimeout: .seconds(10), initialBackoff: .milliseconds(100), maximumBackoff: .milliseconds(350),
        gapReportDelay: .seconds(1), clientName: "upload-service", endpoint: "/run/ledgerd.sock")

    static func machine(settings: Machine.Settings = Self.settings) -> Machine {
        let ids = IDSequence()
        return Machine(settings: settings, now: { LedgerTimestamp(rawValue: 1_700_000_000_000_000) }, makeID: { ids.next() })
    }

    static let event = LedgerRequest.logEvent(
        LogEvent(event: LedgerEvent(id: UUID(), timestamp: LedgerTimestamp(rawValue: 1), eventType: "t", entityType: "e", entityID: "1")))

    static let pong = LedgerResponse.pong(Pong(server: "ledgerd test"))

    /// The frames in a write, decoded.
    static func frames(_ action: Machine.Action) throws -> [LedgerFrame] {
        guard case .send(_, var bytes?, _) = action else { return [] }
        var decoder = LedgerFrameDecoder()
        var frames: [LedgerFrame] = []
        while let frame = try decoder.decode(buffer: &bytes) { frames.append(frame) }
        #expect(bytes.readableBytes == 0)
        return frames
    }

    static func deadlines(_ action: Machine.Action) -> [Machine.RequestToken] {
        guard case .send(_, _, let deadlines) = action else { return [] }
        return deadlines
    }

    static func failed(_ actions: [Machine.Action]) -> (waiters: [Int], code: LedgerClientError.Code?) {
        for case .fail(let waiters, let error) in actions { return (waiters.sorted(), error.code) }
        return ([], nil)
    }

    /// Connects a fresh machine (as connection 1, "channel-1"), with `events` log calls buffered first.
    static func connected(events: Int = 0) throws -> Machine {
        var machine = Self.machine()
        for _ in 0..<events { _ = machine.enqueue(Self.event, events: 1) }
        guard case .connect(1) = machine.request(.ping, waiter: -1).action else {
            Issue.record("the first request connects")
            return machine
        }
        let frames = try Self.frames(machine.connectSucceeded(1, transport: "channel-1", writable: true))
        _ = machine.answerReceived(1, requestID: try #require(frames.last).requestID, response: Self.pong)
        return machine
    }

    // MARK: Log calls

    @Test func logCallsShareOneFlushAndTheFirstConnects() throws {
        var machine = Self.machine()
        guard case .scheduleFlush = machine.enqueue(Self.event, events: 1) else { Issue.record("first call schedules a flush"); return }
        guard case .none = machine.enqueue(Self.event, events: 1) else { Issue.record("the second shares it"); return }
        guard case .connect(1) = machine.flushDue() else { Issue.record("the flush connects"); return }
        #expect(machine.statistics.connectionAttempts == 1)
        let sent = machine.connectSucceeded(1, transport: "channel-1", writable: true)
        let frames = try Self.frames(sent)
        #expect(frames.map(\.type) == [LedgerRequest.ID.logEvent.rawValue, LedgerRequest.ID.logEvent.rawValue])
        #expect(frames.allSatisfy { $0.requestID == 0 })
        #expect(machine.statistics.sent == 2)
        guard case .scheduleFlush = machine.enqueue(Self.event, events: 1) else { Issue.record("a later call flushes again"); return }
        #expect(try Self.frames(machine.flushDue()).count == 1)
        #expect(machine.statistics.sent == 3)
    }

    @Test func aFullBufferDropsAndCountsWithoutWriting() throws {
        var settings = Self.settings
        settings.bufferLimitBytes = 200
        var machine = Self.machine(settings: settings)
        var accepted = 0
        for _ in 0..<10 {
            _ = machine.enqueue(Self.event, events: 1)
            accepted = 10 - machine.statistics.droppedBufferFull
        }
        #expect(accepted >= 1 && accepted < 10)
        #expect(machine.statistics.dropsUnreported == 10 - accepted)
        guard case .connect(let id) = machine.flushDue() else { Issue.record("connects"); return }
        // The drops go first as one gap report, with a deadline of its own, behind the accepted events.
        let sent = machine.connectSucceeded(id, transport: "channel", writable: true)
        let frames = try Self.frames(sent)
        #expect(frames.filter { $0.type == LedgerRequest.ID.logEvent.rawValue }.count == accepted)
        #expect(frames.last?.type == LedgerRequest.ID.reportGap.rawValue)
        #expect(Self.deadlines(sent).count == 1)
    }

    @Test func dropsWhileConnectedAreReportedOnceAfterTheDelay() throws {
        var settings = Self.settings
        settings.bufferLimitBytes = 100
        var machine = Self.machine(settings: settings)
        guard case .connect(let id) = machine.request(.ping, waiter: 1).action else { Issue.record("connects"); return }
        _ = machine.connectSucceeded(id, transport: "channel", writable: false)
        var scheduled = 0
        for _ in 0..<5 {
            if case .scheduleGapReport(after: .seconds(1)) = machine.enqueue(Self.event, events: 1) { scheduled += 1 }
        }
        #expect(scheduled == 1)
        // Nothing can be written while the socket is full, but the report's deadline starts.
        let due = machine.gapReportDue()
        #expect(Self.deadlines(due).count == 1)
        #expect(try Self.frames(due).isEmpty)
        let written = try Self.frames(machine.writabilityChanged(id, writable: true))
        #expect(written.first?.type == LedgerRequest.ID.ping.rawValue)
        #expect(written.last?.type == LedgerRequest.ID.reportGap.rawValue)
        #expect(written.filter { $0.type == LedgerRequest.ID.reportGap.rawValue }.count == 1)
    }

    // MARK: Back-off

    @Test func aFailedConnectDropsWhatWasBufferedAndBacksOffDoublingToTheCap() throws {
        var machine = Self.machine()
        for _ in 0..<3 { _ = machine.enqueue(Self.event, events: 1) }
        var pauses: [TimeAmount] = []
        for attempt in 1...4 {
            guard case .connect(let id) = attempt == 1 ? machine.flushDue() : machine.retryDue() else {
                Issue.record("attempt \(attempt) connects, with drops still to report")
                return
            }
            let actions = machine.connectFailed(id, error: LedgerClientError(code: .unreachable, message: "refused"))
            for case .scheduleRetry(let pause) in actions { pauses.append(pause) }
            // During the pause calls are dropped without touching the system.
            guard case .none = machine.enqueue(Self.event, events: 1) else { Issue.record("dropped during back-off"); return }
        }
        #expect(pauses == [.milliseconds(100), .milliseconds(200), .milliseconds(350), .milliseconds(350)])
        #expect(machine.statistics.droppedUnreachable == 3 + 4)
        #expect(machine.statistics.connectionAttempts == 4)
        // A success resets the pause.
        guard case .connect(let id) = machine.retryDue() else { Issue.record("retries"); return }
        _ = machine.connectSucceeded(id, transport: "channel", writable: true)
        _ = machine.channelClosed(id)
        guard case .connect(let next) = machine.request(.ping, waiter: 1).action else { Issue.record("connects"); return }
        #expect(machine.connectFailed(next, error: LedgerClientError(code: .unreachable, message: "refused")).contains {
            if case .scheduleRetry(.milliseconds(100)) = $0 { true } else { false }
        })
    }

    @Test func thePauseEndsIdleWhenNothingIsLeftToReport() {
        var machine = Self.machine()
        guard case .connect(let id) = machine.request(.ping, waiter: 1).action else { Issue.record("connects"); return }
        let actions = machine.connectFailed(id, error: LedgerClientError(code: .unreachable, message: "refused"))
        #expect(Self.failed(actions).waiters == [1])
        guard case .none = machine.retryDue() else { Issue.record("no attempt without a reason"); return }
        guard case .idle = machine.link else { Issue.record("idle after the pause"); return }
    }

    @Test func aRequestDuringBackOffFailsAtOnceWithTheLastFailure() {
        var machine = Self.machine()
        guard case .connect(let id) = machine.request(.ping, waiter: 1).action else { Issue.record("connects"); return }
        _ = machine.connectFailed(id, error: LedgerClientError(code: .unreachable, message: "cannot connect: refused"))
        let (deadline, action) = machine.request(.ping, waiter: 2)
        #expect(deadline == nil)
        guard case .fail([2], let error) = action else { Issue.record("fails at once"); return }
        #expect(error.message == "cannot connect: refused")
    }

    // MARK: Every waiter ends (the two faults a lock-per-field design had)

    enum Exit: CaseIterable {
        case connected, failed, shutdown, timedOut
    }

    /// Requests made while a connection is being made end on every way out of connecting.
    @Test(arguments: Exit.allCases) func everyWaiterEndsOnEveryWayOutOfConnecting(_ exit: Exit) throws {
        var machine = Self.machine()
        var tokens: [Machine.RequestToken] = []
        var connectID: Machine.ConnectionID?
        for waiter in 1...3 {
            let (token, action) = machine.request(.ping, waiter: waiter)
            tokens.append(try #require(token, "every waiting request has a deadline"))
            if case .connect(let id) = action { connectID = id }
        }
        let id = try #require(connectID, "only the first request connects")
        switch exit {
        case .connected:
            let sent = machine.connectSucceeded(id, transport: "channel", writable: true)
            let frames = try Self.frames(sent)
            #expect(frames.map(\.requestID) == [1, 2, 3])
            var answered: [Int] = []
            for frame in frames {
                if case .succeed(let waiter, _) = machine.answerReceived(id, requestID: frame.requestID, response: Self.pong) {
                    answered.append(waiter)
                }
            }
            #expect(answered == [1, 2, 3])
        case .failed:
            let actions = machine.connectFailed(id, error: LedgerClientError(code: .tlsHandshake, message: "no handshake"))
            #expect(Self.failed(actions) == ([1, 2, 3], .tlsHandshake))
        case .shutdown:
            #expect(Self.failed(machine.shutdown()) == ([1, 2, 3], .shutdown))
            // The connection that comes up afterwards is closed, and finds nobody waiting.
            guard case .close("channel") = machine.connectSucceeded(id, transport: "channel", writable: true) else {
                Issue.record("a connection made after shutdown is closed")
                return
            }
        case .timedOut:
            // The request timeout covers connecting: a handshake that never comes still ends the request.
            for (waiter, token) in zip(1..., tokens) {
                guard case .fail([waiter], let error) = machine.requestTimedOut(token) else {
                    Issue.record("request \(waiter) times out")
                    return
                }
                #expect(error.code == .timeout)
            }
            _ = machine.connectSucceeded(id, transport: "channel", writable: true)
            #expect(try Self.frames(machine.flushDue()).isEmpty, "a timed-out request is not sent")
        }
    }

    /// A late outcome of an older attempt (its timer, its connect) changes nothing.
    @Test func outcomesOfAnotherAttemptAreIgnored() {
        var machine = Self.machine()
        guard case .connect(let id) = machine.request(.ping, waiter: 1).action else { Issue.record("connects"); return }
        #expect(machine.connectFailed(id + 1, error: LedgerClientError(code: .unreachable, message: "old")).isEmpty)
        guard case .close("stale") = machine.connectSucceeded(id + 1, transport: "stale", writable: true) else {
            Issue.record("a stale connection is closed")
            return
        }
        guard case .connecting(id) = machine.link else { Issue.record("still connecting"); return }
        _ = machine.connectSucceeded(id, transport: "channel", writable: true)
        #expect(machine.channelClosed(id + 1).isEmpty)
        guard case .connected(id, "channel") = machine.link else { Issue.record("still connected"); return }
    }

    @Test func aTimedOutRequestsLateAnswerIsDropped() throws {
        var machine = try Self.connected()
        let (token, action) = machine.request(.sync, waiter: 7)
        let frame = try #require(try Self.frames(action).first)
        guard case .fail([7], _) = machine.requestTimedOut(try #require(token)) else { Issue.record("times out"); return }
        guard case .none = machine.answerReceived(1, requestID: frame.requestID, response: .ack(Ack(committed: 0))) else {
            Issue.record("the late answer finds no waiter")
            return
        }
        guard case .none = machine.requestTimedOut(try #require(token)) else { Issue.record("a second timer finds nothing"); return }
    }

    // MARK: The connection's end

    @Test func aClosedConnectionFailsItsRequestsAndKeepsBufferedEvents() throws {
        var machine = try Self.connected()
        _ = machine.writabilityChanged(1, writable: false)
        _ = machine.request(.sync, waiter: 1)
        _ = machine.request(.stats, waiter: 2)
        _ = machine.enqueue(Self.event, events: 1)
        #expect(try Self.frames(machine.flushDue()).isEmpty, "the socket is full")
        let actions = machine.channelClosed(1)
        #expect(Self.failed(actions) == ([1, 2], .connectionClosed))
        #expect(actions.contains { if case .scheduleFlush = $0 { true } else { false } }, "the buffered event goes on a new connection")
        guard case .connect(2) = machine.flushDue() else { Issue.record("reconnects"); return }
    }

    @Test func aTLSAlertIsTheReasonWaitersSee() throws {
        var machine = try Self.connected()
        _ = machine.request(.sync, waiter: 1)
        machine.channelFailed(1, reason: LedgerClientError(code: .tlsHandshake, message: "certificate refused"))
        #expect(Self.failed(machine.channelClosed(1)) == ([1], .tlsHandshake))
    }

    @Test func anUnreadableAnswerFailsEveryRequestAndClosesTheConnection() throws {
        var machine = try Self.connected()
        _ = machine.request(.sync, waiter: 1)
        _ = machine.request(.sync, waiter: 2)
        let actions = machine.unreadableAnswer(1, error: LedgerProtocolError(code: .malformedFrame, message: "short"))
        #expect(Self.failed(actions) == ([1, 2], .protocolViolation))
        #expect(actions.contains { if case .close("channel-1") = $0 { true } else { false } })
    }

    @Test func anErrorThatClosesTheConnectionFailsEveryRequest() throws {
        var machine = try Self.connected()
        _ = machine.request(.sync, waiter: 1)
        let closing = ErrorResponse(code: .shuttingDown, closesConnection: true, message: "shutting down")
        guard case .fail([1], let error) = machine.answerReceived(1, requestID: 0, response: .error(closing)) else {
            Issue.record("fails the waiting request")
            return
        }
        #expect(error.code == .rejected && error.serverError?.code == .shuttingDown)
    }

    @Test func aRefusedFireAndForgetEventIsCountedAndReported() throws {
        var machine = try Self.connected(events: 1)
        let refused = ErrorResponse(code: .invalidEvent, message: "bad metadata")
        guard case .scheduleGapReport = machine.answerReceived(1, requestID: 0, response: .error(refused)) else {
            Issue.record("schedules a report")
            return
        }
        #expect(machine.statistics.rejected == 1)
        let report = try Self.frames(machine.gapReportDue())
        #expect(report.map(\.type) == [LedgerRequest.ID.reportGap.rawValue])
    }

    @Test func shutdownClosesTheConnectionAndFailsEveryWaiterAndLaterCall() throws {
        var machine = try Self.connected()
        _ = machine.request(.sync, waiter: 1)
        let actions = machine.shutdown()
        #expect(actions.contains { if case .close("channel-1") = $0 { true } else { false } })
        #expect(Self.failed(actions) == ([1], .shutdown))
        guard case (nil, .fail([2], let error)) = machine.request(.ping, waiter: 2) else { Issue.record("fails at once"); return }
        #expect(error.code == .shutdown)
        _ = machine.enqueue(Self.event, events: 1)
        #expect(machine.statistics.droppedUnreachable == 1)
        #expect(machine.channelClosed(1).isEmpty, "the close that follows is expected")
    }

    // MARK: Gap reports

    /// A report the daemon could not store is sent again, with its id, until one is stored.
    @Test func gapReportsAreResentWithTheirIDUntilStored() throws {
        var machine = Self.machine()
        _ = machine.enqueue(Self.event, events: 1)
        guard case .connect(let first) = machine.flushDue() else { Issue.record("connects"); return }
        _ = machine.connectFailed(first, error: LedgerClientError(code: .unreachable, message: "refused"))
        guard case .connect(let second) = machine.retryDue() else { Issue.record("the drop makes it retry"); return }
        let sent = machine.connectSucceeded(second, transport: "channel", writable: true)
        let report = try #require(try Self.frames(sent).first)
        let reportID = try Self.reportID(report)
        // Not stored (the store is down): kept, and resent on the next connection.
        let unavailable = ErrorResponse(code: .storeUnavailable, message: "down")
        _ = machine.answerReceived(second, requestID: report.requestID, response: .error(unavailable))
        #expect(machine.statistics.dropsUnreported == 1)
        _ = machine.channelClosed(second)
        guard case .connect(let third) = machine.request(.ping, waiter: 1).action else { Issue.record("connects"); return }
        let resentAction = machine.connectSucceeded(third, transport: "channel", writable: true)
        let resent = try Self.frames(resentAction)
        #expect(resent.map(\.type) == [LedgerRequest.ID.reportGap.rawValue, LedgerRequest.ID.ping.rawValue])
        #expect(try Self.reportID(resent[0]) == reportID)
        // Its deadline passes: sent again on the next chance, still with its id.
        let token = try #require(Self.deadlines(resentAction).first)
        _ = machine.requestTimedOut(token)
        let again = try Self.frames(machine.reportGaps())
        #expect(try again.map(Self.reportID) == [reportID])
        _ = machine.answerReceived(third, requestID: again[0].requestID, response: .ack(Ack(committed: 1)))
        #expect(machine.statistics.gapReportsStored == 1)
        #expect(machine.statistics.dropsUnreported == 0)
        #expect(try Self.frames(machine.reportGaps()).isEmpty)
    }

    static func reportID(_ frame: LedgerFrame) throws -> UUID {
        guard case .reportGap(let report) = try LedgerRequest.decode(frame) else {
            Issue.record("not a gap report")
            return UUID()
        }
        return report.id
    }

    /// Request ids wrap past UInt32.max to 1, never to 0 (which means "no answer wanted").
    @Test func requestIDsSkipZero() throws {
        var machine = try Self.connected()
        var seen = Set<UInt32>()
        for waiter in 0..<5 {
            let frames = try Self.frames(machine.request(.ping, waiter: waiter).action)
            seen.formUnion(frames.map(\.requestID))
        }
        #expect(!seen.contains(0) && seen.count == 5)
    }
}

/// Deterministic ids for the gap reports a test makes.
final class IDSequence: Sendable {
    private let counter = LockedCounter()

    func next() -> UUID {
        let value = self.counter.increment()
        return UUID(uuid: (0, 0, 0, 0, 0, 0, 0x70, 0, 0x80, 0, 0, 0, 0, 0, 0, UInt8(truncatingIfNeeded: value)))
    }
}

final class LockedCounter: @unchecked Sendable {
    // Guarded by `lock`; the counter is only read and written inside it.
    private let lock = NSLock()
    private var value = 0

    func increment() -> Int {
        self.lock.withLock {
            self.value += 1
            return self.value
        }
    }
}
