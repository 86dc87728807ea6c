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
    /// The length prefix as far as it has arrived, and how many of its four bytes that is.
    private var prefix: UInt32 = 0
    private var prefixBytes = 0
    private var frameTimer: Scheduled<Void>?
    private var idleTimer: Scheduled<Void>?
    /// The last read or write. The idle timer checks it when it fires rather than being moved on
    /// every read and write, which would schedule and cancel a task per frame.
    private var lastActivity = NIODeadline.uptimeNanoseconds(0)
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
        self.noteActivity(context: context)
        context.write(data, promise: promise)
    }

    func read(context: ChannelHandlerContext) {
        self.readRequested = true
        context.read()
    }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        let buffer = Self.unwrapInboundIn(data)
        self.noteActivity(context: context)
        self.track(buffer.readableBytesView, context: context)
        context.fireChannelRead(data)
    }

    /// Follows frame boundaries through the bytes. The frame timer runs only while a frame is
    /// open at the end of a read, so frames that arrive whole cost no timer at all.
    private func track(_ bytes: ByteBufferView, context: ChannelHandlerContext) {
        var index = bytes.startIndex
        var finishedOne = false
        while index < bytes.endIndex {
            if let remaining = self.remaining {
                let take = min(remaining, bytes.endIndex - index)
                index += take
                self.remaining = remaining == take ? nil : remaining - take
                finishedOne = finishedOne || remaining == take
            } else {
                self.prefix = self.prefix << 8 | UInt32(bytes[index])
                self.prefixBytes += 1
                index += 1
                if self.prefixBytes == 4 {
                    self.remaining = self.prefix == 0 ? nil : Int(self.prefix)
                    finishedOne = finishedOne || self.prefix == 0
                    self.prefix = 0
                    self.prefixBytes = 0
                }
            }
        }
        if self.remaining == nil, self.prefixBytes == 0 {
            self.frameTimer?.cancel()
            self.frameTimer = nil
        } else if finishedOne || self.frameTimer == nil {
            // The open frame started in this read: its deadline counts from now.
            self.armFrameTimer(context: context)
        }
    }

    private func armFrameTimer(context: ChannelHandlerContext) {
        guard let deadline = self.frameDeadline else { return }
        self.readRequested = false
        self.frameTimer?.cancel()
        self.frameTimer = context.eventLoop.assumeIsolated().scheduleTask(in: deadline) { [weak self] in
            self?.frameDeadlinePassed(context: context)
        }
    }

    private func frameDeadlinePassed(context: ChannelHandlerContext) {
        guard let deadline = self.frameDeadline, self.remaining != nil || self.prefixBytes > 0 else { return }
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

    private func noteActivity(context: ChannelHandlerContext) {
        if self.idleTimeout != nil { self.lastActivity = context.eventLoop.now }
    }

    private func armIdle(context: ChannelHandlerContext) {
        guard let timeout = self.idleTimeout, !self.closed, !self.streaming else { return }
        self.lastActivity = context.eventLoop.now
        self.scheduleIdleCheck(at: self.lastActivity + timeout, context: context)
    }

    private func scheduleIdleCheck(at deadline: NIODeadline, context: ChannelHandlerContext) {
        self.idleTimer?.cancel()
        self.idleTimer = context.eventLoop.assumeIsolated().scheduleTask(deadline: deadline) { [weak self] in
            self?.idleCheck(context: context)
        }
    }

    private func idleCheck(context: ChannelHandlerContext) {
        guard let timeout = self.idleTimeout, !self.closed, !self.streaming else { return }
        let due = self.lastActivity + timeout
        if due > context.eventLoop.now {
            self.scheduleIdleCheck(at: due, context: context)
            return
        }
        self.stats.add(\.connectionsIdleClosed)
        self.close(context: context, code: .idleTimeout, message: "no request for \(Self.seconds(timeout)); reconnect when needed")
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
