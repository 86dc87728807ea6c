import LedgerProtocol
import NIOCore
import NIOEmbedded
import Testing

@testable import LedgerServer

/// A closing error is the last frame of its connection, whichever part of the daemon decided to
/// close it and whatever the others do after: on a connection framed as the daemon frames them.
@Suite struct FinalFrameGateTests {
    static func connection(frameDeadline: TimeAmount? = nil, idleTimeout: TimeAmount? = nil) throws -> EmbeddedChannel {
        let channel = EmbeddedChannel()
        try LedgerServer.addFraming(
            to: channel.pipeline.syncOperations,
            deadlines: ConnectionDeadlines(frameDeadline: frameDeadline, idleTimeout: idleTimeout, stats: ServerStats()),
            maximumFrameLength: LedgerFrame.defaultMaximumLength, closingDeadline: .seconds(5))
        try channel.connect(to: SocketAddress(ipAddress: "127.0.0.1", port: 1)).wait()
        return channel
    }

    /// Every frame the daemon wrote, decoded, in order.
    static func written(_ channel: EmbeddedChannel) throws -> [LedgerResponse] {
        var decoder = LedgerFrameDecoder()
        var responses: [LedgerResponse] = []
        while var bytes = try channel.readOutbound(as: ByteBuffer.self) {
            while let frame = try decoder.decode(buffer: &bytes) { responses.append(try LedgerResponse.decode(frame)) }
        }
        return responses
    }

    static func closing(_ code: LedgerErrorCode, requestID: UInt32 = 0) -> LedgerFrame {
        LedgerResponse.error(ErrorResponse(code: code, closesConnection: true, message: "closing")).frame(requestID: requestID)
    }

    static let pong = LedgerResponse.pong(Pong(server: "ledgerd")).frame(requestID: 1)

    static func codes(_ responses: [LedgerResponse]) -> [LedgerErrorCode?] {
        responses.map { if case .error(let error) = $0 { error.code } else { nil } }
    }

    @Test func aDeadlineThatFiresFirstLeavesTheRequestLoopsErrorUnwritten() throws {
        let channel = try Self.connection(frameDeadline: .milliseconds(300))
        var ping = ByteBuffer()
        LedgerRequest.ping.encode(requestID: 9, into: &ping)
        try channel.writeInbound(ping.getSlice(at: 0, length: 7)!)
        channel.read()
        channel.embeddedEventLoop.advanceTime(by: .milliseconds(300))
        // What the request loop answers once the stream ends inside that frame.
        let late = channel.writeAndFlush(Self.closing(.malformedFrame))
        #expect(Self.codes(try Self.written(channel)) == [.frameTimeout])
        #expect(throws: ChannelError.self) { try late.wait() }
        #expect(!channel.isActive)
    }

    @Test func theRequestLoopsErrorFirstLeavesADeadlineUnwritten() throws {
        let channel = try Self.connection(frameDeadline: .milliseconds(300))
        var ping = ByteBuffer()
        LedgerRequest.ping.encode(requestID: 9, into: &ping)
        channel.writeAndFlush(Self.closing(.malformedFrame), promise: nil)
        _ = try? channel.writeInbound(ping.getSlice(at: 0, length: 7)!)
        channel.read()
        channel.embeddedEventLoop.advanceTime(by: .seconds(1))
        #expect(Self.codes(try Self.written(channel)) == [.malformedFrame])
    }

    @Test func nothingIsWrittenAfterAClosingErrorAndTheConnectionCloses() throws {
        let channel = try Self.connection()
        try channel.writeOutbound(Self.pong)
        channel.write(Self.closing(.storeUnavailable, requestID: 4), promise: nil)
        let after = channel.writeAndFlush(Self.pong)
        let responses = try Self.written(channel)
        #expect(responses.count == 2)
        #expect(Self.codes(responses) == [nil, .storeUnavailable])
        #expect(throws: ChannelError.self) { try after.wait() }
        // Closed by the gate itself: the error promised it, whoever wrote it.
        #expect(!channel.isActive)
    }

    @Test func framesReadAfterTheClosingErrorAreNotRun() throws {
        let channel = try Self.connection()
        channel.write(Self.closing(.malformedFrame), promise: nil)
        channel.flush()
        var ping = ByteBuffer()
        LedgerRequest.ping.encode(requestID: 9, into: &ping)
        _ = try? channel.writeInbound(ping)
        #expect(try channel.readInbound(as: LedgerFrame.self) == nil)
    }

    @Test func anErrorThatDoesNotCloseIsWrittenLikeAnyAnswer() throws {
        let channel = try Self.connection()
        let refusal = LedgerResponse.error(ErrorResponse(code: .invalidEvent, message: "no event type")).frame(requestID: 3)
        try channel.writeOutbound(refusal)
        try channel.writeOutbound(Self.pong)
        #expect(Self.codes(try Self.written(channel)) == [.invalidEvent, nil])
        #expect(channel.isActive)
    }

    /// A socket whose peer reads nothing: what is written stays in the daemon, never done.
    final class UnreadSocket: ChannelOutboundHandler {
        typealias OutboundIn = ByteBuffer
        var held: [EventLoopPromise<Void>] = []

        func write(context: ChannelHandlerContext, data: NIOAny, promise: EventLoopPromise<Void>?) {
            if let promise { self.held.append(promise) }
        }

        func flush(context: ChannelHandlerContext) {}

        func close(context: ChannelHandlerContext, mode: CloseMode, promise: EventLoopPromise<Void>?) {
            for write in self.held { write.fail(ChannelError.ioOnClosedChannel) }
            self.held = []
            context.close(mode: mode, promise: promise)
        }
    }

    @Test(arguments: ["request loop", "idle deadline"])
    func aPeerThatReadsNothingIsClosedAtTheClosingDeadline(decidedBy: String) throws {
        let channel = try Self.connection(idleTimeout: .seconds(30))
        try channel.pipeline.syncOperations.addHandler(UnreadSocket(), position: .first)
        if decidedBy == "request loop" {
            channel.writeAndFlush(Self.closing(.malformedFrame), promise: nil)
        } else {
            channel.embeddedEventLoop.advanceTime(by: .seconds(30))
        }
        channel.embeddedEventLoop.advanceTime(by: .milliseconds(4_900))
        #expect(channel.isActive, "the peer has a while to read its last frame")
        channel.embeddedEventLoop.advanceTime(by: .milliseconds(100))
        #expect(!channel.isActive, "and is then closed without it")
    }
}
