import LedgerProtocol
import NIOCore

/// Keeps the protocol's promise that an error flagged as closing the connection is the last frame
/// the daemon writes on it, and that the connection then closes.
///
/// Two parts of the daemon decide to close a connection: the deadlines below the framing (a frame
/// left open, an idle peer) and the request loop above it (a malformed frame, a tail that cannot
/// resume). Each alone writes one closing error; both at once would write two, the second after a
/// frame the client was told is the last. Every closing error therefore passes through here, the
/// request loop's on its way down and the deadlines' as an inbound event sent up: the first is
/// written and the connection closed once it is, or after `closingDeadline` if the peer does not
/// read it; later writes are dropped and later reads not passed on, so nothing more is run for a
/// peer that is being let go, and a peer that stopped reading is let go all the same.
final class FinalFrameGate: ChannelDuplexHandler, RemovableChannelHandler {
    typealias InboundIn = LedgerFrame
    typealias InboundOut = LedgerFrame
    typealias OutboundIn = LedgerFrame
    typealias OutboundOut = LedgerFrame

    /// Sent up the pipeline by a handler below the framing to close the connection with this error.
    struct Close: Sendable {
        var error: ErrorResponse
    }

    private let closingDeadline: TimeAmount
    private var finished = false

    init(closingDeadline: TimeAmount) {
        self.closingDeadline = closingDeadline
    }

    func write(context: ChannelHandlerContext, data: NIOAny, promise: EventLoopPromise<Void>?) {
        guard !self.finished else {
            promise?.fail(ChannelError.outputClosed)
            return
        }
        let frame = Self.unwrapOutboundIn(data)
        if ErrorResponse.closesConnection(frame) {
            self.finish(with: frame, context: context, promise: promise)
        } else {
            context.write(data, promise: promise)
        }
    }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        guard !self.finished else { return }
        context.fireChannelRead(data)
    }

    func errorCaught(context: ChannelHandlerContext, error: any Error) {
        // A frame broken after the last one was written would only be answered by a second error.
        guard !self.finished else { return }
        context.fireErrorCaught(error)
    }

    func userInboundEventTriggered(context: ChannelHandlerContext, event: Any) {
        guard let close = event as? Close else {
            context.fireUserInboundEventTriggered(event)
            return
        }
        guard !self.finished else { return }
        var error = close.error
        error.closesConnection = true
        self.finish(with: LedgerResponse.error(error).frame(requestID: 0), context: context, promise: nil)
    }

    private func finish(with frame: LedgerFrame, context: ChannelHandlerContext, promise: EventLoopPromise<Void>?) {
        self.finished = true
        let written = context.eventLoop.makePromise(of: Void.self)
        written.futureResult.cascade(to: promise)
        let bound = NIOLoopBound(context, eventLoop: context.eventLoop)
        // The error waits behind whatever the peer has not read yet; a peer that reads nothing never lets it through.
        let overdue = context.eventLoop.assumeIsolated().scheduleTask(in: self.closingDeadline) {
            bound.value.close(promise: nil)
        }
        written.futureResult.whenComplete { _ in
            overdue.cancel()
            bound.value.close(promise: nil)
        }
        context.writeAndFlush(Self.wrapOutboundOut(frame), promise: written)
    }
}
