import NIOCore
import NIOTLS

/// Closes a TLS connection whose handshake has not finished within its deadline.
///
/// Until the handshake completes no frame exists, so neither the frame deadline nor the idle
/// timeout sees a peer that connects and sends nothing, or half a ClientHello; without this
/// such peers would hold their connections for as long as they liked.
final class TLSHandshakeDeadline: ChannelInboundHandler, RemovableChannelHandler {
    typealias InboundIn = NIOAny

    private let deadline: TimeAmount
    private let stats: ServerStats
    private var timer: Scheduled<Void>?
    private var completed = false

    init(deadline: TimeAmount, stats: ServerStats) {
        self.deadline = deadline
        self.stats = stats
    }

    func handlerAdded(context: ChannelHandlerContext) {
        if context.channel.isActive { self.arm(context: context) }
    }

    func channelActive(context: ChannelHandlerContext) {
        self.arm(context: context)
        context.fireChannelActive()
    }

    func channelInactive(context: ChannelHandlerContext) {
        self.timer?.cancel()
        self.timer = nil
        context.fireChannelInactive()
    }

    func userInboundEventTriggered(context: ChannelHandlerContext, event: Any) {
        if case TLSUserEvent.handshakeCompleted = event {
            self.completed = true
            self.timer?.cancel()
            self.timer = nil
        }
        context.fireUserInboundEventTriggered(event)
    }

    private func arm(context: ChannelHandlerContext) {
        guard self.timer == nil, !self.completed else { return }
        let bound = NIOLoopBound(context, eventLoop: context.eventLoop)
        self.timer = context.eventLoop.assumeIsolated().scheduleTask(in: self.deadline) { [weak self] in
            guard let self, !self.completed else { return }
            self.stats.add(\.tlsHandshakesTimedOut)
            bound.value.close(promise: nil)
        }
    }
}
