import LedgerProtocol
import NIOCore
import Testing

@testable import LedgerServer

/// The deadlines' decisions from bytes and times alone: no channel, no timers, no clock.
@Suite struct ConnectionDeadlinesStateMachineTests {
    typealias Machine = ConnectionDeadlinesStateMachine

    static let ping: [UInt8] = {
        var buffer = ByteBuffer()
        LedgerRequest.ping.encode(requestID: 9, into: &buffer)
        return Array(buffer.readableBytesView)
    }()

    static func at(_ milliseconds: Int64) -> NIODeadline { .uptimeNanoseconds(UInt64(milliseconds) * 1_000_000) }

    static func read(_ machine: inout Machine, _ bytes: some Sequence<UInt8>, at milliseconds: Int64) -> Machine.FrameTimer {
        machine.active(at: Self.at(milliseconds))
        return machine.read(ByteBuffer(bytes: Array(bytes)).readableBytesView)
    }

    @Test func wholeFramesNeverArmTheFrameTimer() {
        var machine = Machine(frameDeadline: .milliseconds(300), idleTimeout: nil)
        #expect(Self.read(&machine, Self.ping + Self.ping, at: 0) == .none)
        // A zero-length frame is whole at its prefix.
        #expect(Self.read(&machine, [0, 0, 0, 0], at: 1) == .none)
    }

    @Test func anOpenFrameArmsTheTimerOnceAndItsEndCancelsIt() {
        var machine = Machine(frameDeadline: .milliseconds(300), idleTimeout: nil)
        #expect(Self.read(&machine, Self.ping.prefix(3), at: 0) == .arm(.milliseconds(300)))
        #expect(Self.read(&machine, Self.ping.dropFirst(3).prefix(2), at: 100) == .none, "the same frame: its deadline stands")
        #expect(Self.read(&machine, Self.ping.dropFirst(5), at: 200) == .cancel)
    }

    @Test func aFrameEndingAndAnotherStartingInOneReadRestartsTheDeadline() {
        var machine = Machine(frameDeadline: .milliseconds(300), idleTimeout: nil)
        _ = Self.read(&machine, Self.ping.prefix(7), at: 0)
        #expect(Self.read(&machine, Self.ping.dropFirst(7) + Self.ping.prefix(2), at: 200) == .arm(.milliseconds(300)))
    }

    @Test func theTimerClosesOnlyWhenTheDaemonWasReading() {
        var machine = Machine(frameDeadline: .milliseconds(300), idleTimeout: nil)
        _ = Self.read(&machine, Self.ping.prefix(7), at: 0)
        // No read was asked for: the rest may be waiting in the socket, so the peer gets another deadline.
        #expect(machine.frameTimerFired() == .arm(.milliseconds(300)))
        machine.readRequestedByDaemon()
        guard case .close(.frameTimeout, let message) = machine.frameTimerFired() else {
            Issue.record("closes")
            return
        }
        #expect(message == "a frame started but did not finish within 300 ms")
        #expect(machine.frameTimerFired() == .none, "closed once")
    }

    @Test func theIdleCheckLooksAgainAtTheLastActivityPlusTheTimeout() {
        var machine = Machine(frameDeadline: nil, idleTimeout: .seconds(15))
        #expect(machine.activated(now: Self.at(0)) == Self.at(15_000))
        _ = Self.read(&machine, Self.ping, at: 10_000)
        #expect(machine.idleCheck(now: Self.at(15_000)) == .checkAgain(at: Self.at(25_000)))
        machine.active(at: Self.at(20_000))
        #expect(machine.idleCheck(now: Self.at(25_000)) == .checkAgain(at: Self.at(35_000)))
        #expect(machine.idleCheck(now: Self.at(35_000)) == .close(.idleTimeout, message: "no request for 15 s; reconnect when needed"))
        #expect(machine.idleCheck(now: Self.at(99_000)) == .none)
    }

    @Test func aPeerWaitingForAnAnswerIsNotIdleAndItsTimeoutCountsFromTheAnswer() {
        var machine = Machine(frameDeadline: nil, idleTimeout: .seconds(15))
        _ = machine.activated(now: Self.at(0))
        _ = Self.read(&machine, Self.ping + Self.ping.prefix(3), at: 1_000)
        #expect(machine.framesRead == 1, "a frame counts once its last byte is read")
        _ = Self.read(&machine, Self.ping.dropFirst(3) + Self.ping, at: 1_000)
        #expect(machine.framesRead == 3)
        #expect(machine.idleCheck(now: Self.at(16_000), requestsInHand: true) == .checkAgain(at: Self.at(31_000)))
        #expect(machine.idleCheck(now: Self.at(600_000), requestsInHand: true) == .checkAgain(at: Self.at(615_000)))
        machine.active(at: Self.at(610_000))
        #expect(machine.idleCheck(now: Self.at(615_000)) == .checkAgain(at: Self.at(625_000)))
        #expect(machine.idleCheck(now: Self.at(625_000)) == .close(.idleTimeout, message: "no request for 15 s; reconnect when needed"))
    }

    @Test func aStreamIsNeverIdle() {
        var machine = Machine(frameDeadline: nil, idleTimeout: .seconds(15))
        _ = machine.activated(now: Self.at(0))
        machine.becameStream()
        #expect(machine.idleCheck(now: Self.at(3_600_000)) == .none)
        #expect(machine.activated(now: Self.at(3_600_000)) == nil)
    }

    @Test func withoutDeadlinesNothingIsEverArmed() {
        var machine = Machine(frameDeadline: nil, idleTimeout: nil)
        #expect(machine.activated(now: Self.at(0)) == nil)
        #expect(Self.read(&machine, Self.ping.prefix(3), at: 0) == .none)
        #expect(machine.frameTimerFired() == .none)
    }
}
