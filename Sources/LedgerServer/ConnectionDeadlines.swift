import LedgerProtocol
import NIOCore

/// Closes a connection whose peer stalls: a frame that starts but does not finish within
/// `frameDeadline` (slow loris), or no bytes at all for `idleTimeout`. Each gets its
/// error frame first, written straight to the socket, and is counted.
///
/// It sits next to the socket and follows the length prefixes itself, so it works
/// whatever the handlers behind it do. Time spent not reading because the daemon
/// applies backpressure is not held against the peer.
final class ConnectionDeadlines: ChannelDuplexHandler, RemovableChannelHandler {
    typealias InboundIn = ByteBuffer
    typealias InboundOut = ByteBuffer
    typealias OutboundIn = ByteBuffer
    typealias OutboundOut = ByteBuffer

    private let frameDeadline: TimeAmount?
    private let idleTimeout: TimeAmount?
    private let stats: ServerStats

    /// Bytes still to come in the current frame; nil between frames.
    private var remaining: Int?
    /// Length-prefix bytes seen so far when a prefix arrives split.
    private var prefix: [UInt8] = []
    private var frameTimer: Scheduled<Void>?
    private var idleTimer: Scheduled<Void>?
    /// Whether the daemon asked for data since the frame timer was armed; if not, the wait is ours.
    private var readRequested = false
    private var closed = false
    private var streaming = false

    init(frameDeadline: TimeAmount?, idleTimeout: TimeAmount?, stats: ServerStats) {
        self.frameDeadline = frameDeadline
        self.idleTimeout = idleTimeout
        self.stats = stats
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
        self.streaming = true
        promise?.succeed()
    }

    func write(context: ChannelHandlerContext, data: NIOAny, promise: EventLoopPromise<Void>?) {
        self.armIdle(context: context)
        context.write(data, promise: promise)
    }

    func read(context: ChannelHandlerContext) {
        self.readRequested = true
        context.read()
    }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        let buffer = Self.unwrapInboundIn(data)
        self.armIdle(context: context)
        self.track(buffer.readableBytesView, context: context)
        context.fireChannelRead(data)
    }

    /// Follows frame boundaries through the bytes, arming the frame timer while one is open.
    private func track(_ bytes: ByteBufferView, context: ChannelHandlerContext) {
        var index = bytes.startIndex
        while index < bytes.endIndex {
            if let remaining = self.remaining {
                let take = min(remaining, bytes.endIndex - index)
                index += take
                self.remaining = remaining - take == 0 ? nil : remaining - take
                if self.remaining == nil { self.frameFinished() }
            } else {
                if self.prefix.isEmpty { self.frameStarted(context: context) }
                self.prefix.append(bytes[index])
                index += 1
                if self.prefix.count == 4 {
                    let length = self.prefix.reduce(0) { $0 << 8 | Int($1) }
                    self.prefix.removeAll(keepingCapacity: true)
                    self.remaining = length == 0 ? nil : length
                    if length == 0 { self.frameFinished() }
                }
            }
        }
    }

    private func frameStarted(context: ChannelHandlerContext) {
        guard let deadline = self.frameDeadline else { return }
        self.readRequested = false
        self.frameTimer?.cancel()
        self.frameTimer = context.eventLoop.assumeIsolated().scheduleTask(in: deadline) { [weak self] in
            self?.frameDeadlinePassed(context: context)
        }
    }

    private func frameFinished() {
        self.frameTimer?.cancel()
        self.frameTimer = nil
    }

    private func frameDeadlinePassed(context: ChannelHandlerContext) {
        guard let deadline = self.frameDeadline, self.remaining != nil || !self.prefix.isEmpty else { return }
        guard self.readRequested else {
            // The daemon was not reading (backpressure): give the peer another full deadline.
            self.frameTimer = context.eventLoop.assumeIsolated().scheduleTask(in: deadline) { [weak self] in
                self?.frameDeadlinePassed(context: context)
            }
            return
        }
        self.stats.add(\.framesTimedOut)
        self.close(context: context, code: .frameTimeout, message: "a frame started but did not finish within \(Self.seconds(deadline))")
    }

    private func armIdle(context: ChannelHandlerContext) {
        guard let timeout = self.idleTimeout, !self.closed, !self.streaming else { return }
        self.idleTimer?.cancel()
        self.idleTimer = context.eventLoop.assumeIsolated().scheduleTask(in: timeout) { [weak self] in
            guard let self else { return }
            self.stats.add(\.connectionsIdleClosed)
            self.close(context: context, code: .idleTimeout, message: "no request for \(Self.seconds(timeout)); reconnect when needed")
        }
    }

    private func close(context: ChannelHandlerContext, code: LedgerErrorCode, message: String) {
        guard !self.closed else { return }
        self.closed = true
        self.cancelTimers()
        var frame = ByteBuffer()
        LedgerResponse.error(ErrorResponse(code: code, closesConnection: true, message: message)).frame(requestID: 0).encode(into: &frame)
        let bound = NIOLoopBound(context, eventLoop: context.eventLoop)
        context.writeAndFlush(Self.wrapOutboundOut(frame)).whenComplete { _ in
            bound.value.close(promise: nil)
        }
    }

    private func cancelTimers() {
        self.frameTimer?.cancel()
        self.idleTimer?.cancel()
        self.frameTimer = nil
        self.idleTimer = nil
    }

    private static func seconds(_ amount: TimeAmount) -> String {
        let milliseconds = amount.nanoseconds / 1_000_000
        return milliseconds % 1_000 == 0 ? "\(milliseconds / 1_000) s" : "\(milliseconds) ms"
    }
}
