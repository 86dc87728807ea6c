import LedgerProtocol
import NIOCore

/// What a client channel reports to the connection that owns it, each event naming the connection.
protocol ClientChannelEvents: Sendable {
    func received(_ frame: LedgerFrame, on connection: UInt64)
    func writabilityChanged(_ writable: Bool, on connection: UInt64)
    func failed(_ error: any Error, on connection: UInt64)
    func closed(_ connection: UInt64)
}

/// The last handler of a client's request channel: forwards what happens on the channel, and closes
/// a channel that failed, since nothing after an error on it can be trusted.
final class ClientChannelHandler: ChannelInboundHandler, Sendable {
    typealias InboundIn = LedgerFrame

    private let events: any ClientChannelEvents
    private let connection: UInt64

    init(events: any ClientChannelEvents, connection: UInt64) {
        self.events = events
        self.connection = connection
    }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        self.events.received(Self.unwrapInboundIn(data), on: self.connection)
    }

    func channelWritabilityChanged(context: ChannelHandlerContext) {
        self.events.writabilityChanged(context.channel.isWritable, on: self.connection)
        context.fireChannelWritabilityChanged()
    }

    func channelInactive(context: ChannelHandlerContext) {
        self.events.closed(self.connection)
        context.fireChannelInactive()
    }

    func errorCaught(context: ChannelHandlerContext, error: any Error) {
        self.events.failed(error, on: self.connection)
        context.close(promise: nil)
    }
}
