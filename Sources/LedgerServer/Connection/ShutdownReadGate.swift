import LedgerProtocol
import NIOCore

/// Ends a connection's inbound frames on graceful shutdown while its outbound side stays
/// open, so the acks it is still owed can be written.
///
/// ServiceLifecycle's `cancelOnGracefulShutdown()` ends the loop the same way, but it merges
/// the inbound sequence with a shutdown signal and so hands every frame through one more task:
/// with one event per frame that cost 40% of the daemon's CPU. This does it in the pipeline
/// instead: once told to stop it reads no more from the socket, drops frames already decoded,
/// and tells the handlers after it that input is closed, which finishes the inbound sequence.
/// A Unix socket could shut down its read side itself, but TLS does not allow that.
final class ShutdownReadGate: ChannelDuplexHandler, RemovableChannelHandler {
    typealias InboundIn = LedgerFrame
    typealias InboundOut = LedgerFrame
    typealias OutboundIn = LedgerFrame
    typealias OutboundOut = LedgerFrame

    /// The user outbound event that closes the gate.
    struct Close: Sendable {}

    private var closed = false

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        guard !self.closed else { return }
        context.fireChannelRead(data)
    }

    func read(context: ChannelHandlerContext) {
        guard !self.closed else { return }
        context.read()
    }

    func userInboundEventTriggered(context: ChannelHandlerContext, event: Any) {
        // After the gate closed, the handlers behind it have already been told that input is closed.
        if self.closed, case ChannelEvent.inputClosed = event { return }
        context.fireUserInboundEventTriggered(event)
    }

    func triggerUserOutboundEvent(context: ChannelHandlerContext, event: Any, promise: EventLoopPromise<Void>?) {
        guard event is Close else {
            context.triggerUserOutboundEvent(event, promise: promise)
            return
        }
        if !self.closed {
            self.closed = true
            context.fireUserInboundEventTriggered(ChannelEvent.inputClosed)
        }
        promise?.succeed(())
    }
}
