import LedgerProtocol
import NIOCore

/// Closes a connection whose peer stalls, as `ConnectionDeadlinesStateMachine` decides: each gets
/// its error frame first and is counted. This handler only reads the event loop's clock and runs
/// the timers; it sits next to the socket, below the framing, and hands the error up to the
/// `FinalFrameGate`, which writes it unless the connection is already being closed for another reason.
final class ConnectionDeadlines: ChannelDuplexHandler, RemovableChannelHandler {
    typealias InboundIn = ByteBuffer
    typealias InboundOut = ByteBuffer
    typealias OutboundIn = ByteBuffer
    typealias OutboundOut = ByteBuffer

    private var machine: ConnectionDeadlinesStateMachine
    private let stats: ServerStats
    private var frameTimer: Scheduled<Void>?
    private var idleTimer: Scheduled<Void>?
    /// Counted by the connection's tasks, which reach it through `ConnectionDeadlines.requestsInHand(of:)`.
    let requestsInHand = RequestsInHand()

    init(frameDeadline: TimeAmount?, idleTimeout: TimeAmount?, stats: ServerStats) {
        self.machine = ConnectionDeadlinesStateMachine(frameDeadline: frameDeadline, idleTimeout: idleTimeout)
        self.stats = stats
    }

    /// The count of the channel's deadline handler, or a fresh one for a channel without it.
    static func requestsInHand(of channel: any Channel) async -> RequestsInHand {
        (try? await channel.pipeline.handler(type: ConnectionDeadlines.self).map(\.requestsInHand).get()) ?? RequestsInHand()
    }

    func channelActive(context: ChannelHandlerContext) {
        self.armIdle(context: context)
        context.fireChannelActive()
    }

    func handlerAdded(context: ChannelHandlerContext) {
        if context.channel.isActive { self.armIdle(context: context) }
    }

    func channelInactive(context: ChannelHandlerContext) {
        self.cancelTimers()
        context.fireChannelInactive()
    }

    /// Sent by the connection handler when the connection becomes a tail: it stays quiet on purpose.
    struct Streaming: Sendable {}

    func triggerUserOutboundEvent(context: ChannelHandlerContext, event: Any, promise: EventLoopPromise<Void>?) {
        guard event is Streaming else {
            context.triggerUserOutboundEvent(event, promise: promise)
            return
        }
        self.idleTimer?.cancel()
        self.idleTimer = nil
        self.machine.becameStream()
        promise?.succeed()
    }

    func write(context: ChannelHandlerContext, data: NIOAny, promise: EventLoopPromise<Void>?) {
        self.noteActivity(context: context)
        context.write(data, promise: promise)
    }

    func read(context: ChannelHandlerContext) {
        self.machine.readRequestedByDaemon()
        context.read()
    }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        let buffer = Self.unwrapInboundIn(data)
        self.noteActivity(context: context)
        let framesBefore = self.machine.framesRead
        let timer = self.machine.read(buffer.readableBytesView)
        // Counted here, not when a task picks the request up: a request waiting for a thread of a
        // busy pool is still one the peer is waiting on.
        if self.machine.idleTimeout != nil, self.machine.framesRead > framesBefore {
            self.requestsInHand.took(self.machine.framesRead - framesBefore)
        }
        switch timer {
        case .none: break
        case .cancel:
            self.frameTimer?.cancel()
            self.frameTimer = nil
        case .arm(let deadline):
            self.armFrameTimer(in: deadline, context: context)
        }
        context.fireChannelRead(data)
    }

    /// The clock is read per read and write only when there is an idle timeout to keep.
    private func noteActivity(context: ChannelHandlerContext) {
        if self.machine.idleTimeout != nil { self.machine.active(at: context.eventLoop.now) }
    }

    private func armFrameTimer(in deadline: TimeAmount, context: ChannelHandlerContext) {
        self.frameTimer?.cancel()
        self.frameTimer = context.eventLoop.assumeIsolated().scheduleTask(in: deadline) { [weak self] in
            guard let self else { return }
            self.carryOut(self.machine.frameTimerFired(), context: context)
        }
    }

    private func armIdle(context: ChannelHandlerContext) {
        guard let due = self.machine.activated(now: context.eventLoop.now) else { return }
        self.scheduleIdleCheck(at: due, context: context)
    }

    private func scheduleIdleCheck(at deadline: NIODeadline, context: ChannelHandlerContext) {
        self.idleTimer?.cancel()
        self.idleTimer = context.eventLoop.assumeIsolated().scheduleTask(deadline: deadline) { [weak self] in
            guard let self else { return }
            // While the socket takes no more, the wait is the peer's (it does not read its answers), not the daemon's.
            let waitingForDaemon = self.requestsInHand.any && context.channel.isWritable
            self.carryOut(self.machine.idleCheck(now: context.eventLoop.now, requestsInHand: waitingForDaemon), context: context)
        }
    }

    private func carryOut(_ verdict: ConnectionDeadlinesStateMachine.Verdict, context: ChannelHandlerContext) {
        switch verdict {
        case .none: break
        case .arm(let deadline): self.armFrameTimer(in: deadline, context: context)
        case .checkAgain(let due): self.scheduleIdleCheck(at: due, context: context)
        case .close(let code, let message):
            self.stats.add(code == .frameTimeout ? \.framesTimedOut : \.connectionsIdleClosed)
            self.cancelTimers()
            let error = ErrorResponse(code: code, closesConnection: true, message: message)
            context.fireUserInboundEventTriggered(FinalFrameGate.Close(error: error))
        }
    }

    private func cancelTimers() {
        self.frameTimer?.cancel()
        self.idleTimer?.cancel()
        self.frameTimer = nil
        self.idleTimer = nil
    }
}
