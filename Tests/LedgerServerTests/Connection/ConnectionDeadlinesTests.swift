import LedgerProtocol
import NIOCore
import NIOEmbedded
import Testing

@testable import LedgerServer

/// The frame deadline and the idle timeout on an EmbeddedChannel, whose clock moves only when told.
@Suite struct ConnectionDeadlinesTests {
    /// One ping request as it travels on the socket: a length prefix, then the frame.
    static let ping: [UInt8] = {
        var buffer = ByteBuffer()
        LedgerRequest.ping.encode(requestID: 9, into: &buffer)
        return Array(buffer.readableBytesView)
    }()

    static func channel(frameDeadline: TimeAmount? = nil, idleTimeout: TimeAmount? = nil) throws -> (EmbeddedChannel, ServerStats) {
        let stats = ServerStats()
        let channel = EmbeddedChannel()
        // The gate above writes the deadlines' error frame, through the encoder, as on a real connection.
        try channel.pipeline.syncOperations.addHandlers(
            ConnectionDeadlines(frameDeadline: frameDeadline, idleTimeout: idleTimeout, stats: stats), MessageToByteHandler(LedgerFrameEncoder()),
            FinalFrameGate(closingDeadline: .seconds(5)))
        try channel.connect(to: SocketAddress(ipAddress: "127.0.0.1", port: 1)).wait()
        return (channel, stats)
    }

    static func send(_ bytes: some Sequence<UInt8>, to channel: EmbeddedChannel) throws {
        try channel.writeInbound(ByteBuffer(bytes: Array(bytes)))
        // The daemon asks for more, as it does when it is not pushing back.
        channel.read()
    }

    /// The one frame the handler wrote before closing, decoded.
    static func closingError(_ channel: EmbeddedChannel) throws -> ErrorResponse? {
        guard var written = try channel.readOutbound(as: ByteBuffer.self) else { return nil }
        var decoder = LedgerFrameDecoder()
        guard let frame = try decoder.decode(buffer: &written), case .error(let error) = try LedgerResponse.decode(frame) else {
            return nil
        }
        return error
    }

    @Test func framesThatArriveWholeOrInTimeAreNeverCutOff() throws {
        let (channel, stats) = try Self.channel(frameDeadline: .milliseconds(300))
        try Self.send(Self.ping + Self.ping + Self.ping.prefix(3), to: channel)
        channel.embeddedEventLoop.advanceTime(by: .milliseconds(250))
        try Self.send(Self.ping.dropFirst(3), to: channel)
        channel.embeddedEventLoop.advanceTime(by: .seconds(5))
        #expect(channel.isActive)
        #expect(try channel.readOutbound(as: ByteBuffer.self) == nil)
        #expect(stats.framesTimedOut.load(ordering: .relaxed) == 0)
        #expect(try channel.readInbound(as: ByteBuffer.self)?.readableBytes == 2 * Self.ping.count + 3, "the bytes pass on unchanged")
    }

    @Test func aFrameLeftOpenGetsFrameTimeoutAndTheConnectionCloses() throws {
        let (channel, stats) = try Self.channel(frameDeadline: .milliseconds(300))
        try Self.send(Self.ping.prefix(7), to: channel)
        channel.embeddedEventLoop.advanceTime(by: .milliseconds(299))
        #expect(channel.isActive)
        channel.embeddedEventLoop.advanceTime(by: .milliseconds(1))
        let error = try #require(try Self.closingError(channel))
        #expect(error.code == .frameTimeout && error.closesConnection)
        #expect(!channel.isActive)
        #expect(stats.framesTimedOut.load(ordering: .relaxed) == 1)
    }

    @Test func theDeadlineCountsFromTheStartOfTheFrameStillOpen() throws {
        let (channel, _) = try Self.channel(frameDeadline: .milliseconds(300))
        try Self.send(Self.ping.prefix(7), to: channel)
        channel.embeddedEventLoop.advanceTime(by: .milliseconds(200))
        // The first frame ends and a second starts in the same read: the second has its own 300 ms.
        try Self.send(Self.ping.dropFirst(7) + Self.ping.prefix(2), to: channel)
        channel.embeddedEventLoop.advanceTime(by: .milliseconds(250))
        #expect(channel.isActive, "the first frame's deadline is over, but that frame finished")
        channel.embeddedEventLoop.advanceTime(by: .milliseconds(50))
        #expect(try Self.closingError(channel)?.code == .frameTimeout)
        #expect(!channel.isActive)
    }

    @Test func timeTheDaemonSpendsNotReadingIsNotHeldAgainstThePeer() throws {
        let (channel, _) = try Self.channel(frameDeadline: .milliseconds(300))
        try channel.writeInbound(ByteBuffer(bytes: Self.ping.prefix(7)))
        channel.embeddedEventLoop.advanceTime(by: .milliseconds(500))
        #expect(channel.isActive, "no read was asked for: the rest may be waiting in the socket")
        channel.read()
        channel.embeddedEventLoop.advanceTime(by: .milliseconds(300))
        #expect(try Self.closingError(channel)?.code == .frameTimeout)
    }

    @Test func theIdleTimeoutCountsFromTheLastReadOrWrite() throws {
        let (channel, stats) = try Self.channel(idleTimeout: .seconds(15))
        channel.embeddedEventLoop.advanceTime(by: .seconds(10))
        try Self.send(Self.ping, to: channel)
        channel.embeddedEventLoop.advanceTime(by: .seconds(10))
        #expect(channel.isActive, "a request at 10 s moves the timeout to 25 s")
        try channel.writeOutbound(LedgerResponse.pong(Pong(server: "ledgerd")).frame(requestID: 9))
        try channel.pipeline.syncOperations.handler(type: ConnectionDeadlines.self).requestsInHand.answered()
        #expect(try channel.readOutbound(as: ByteBuffer.self) != nil)
        channel.embeddedEventLoop.advanceTime(by: .seconds(14))
        #expect(channel.isActive, "a response at 20 s moves it to 35 s")
        channel.embeddedEventLoop.advanceTime(by: .seconds(1))
        let error = try #require(try Self.closingError(channel))
        #expect(error.code == .idleTimeout && error.closesConnection)
        #expect(!channel.isActive)
        #expect(stats.connectionsIdleClosed.load(ordering: .relaxed) == 1)
    }

    @Test func aConnectionWaitingForItsAnswerIsNotClosedAsIdle() throws {
        let (channel, stats) = try Self.channel(idleTimeout: .seconds(15))
        let deadlines = try channel.pipeline.syncOperations.handler(type: ConnectionDeadlines.self)
        try Self.send(Self.ping, to: channel)
        channel.embeddedEventLoop.advanceTime(by: .seconds(600))
        #expect(channel.isActive, "a request read and not yet answered: however long the store takes, the peer is waiting, not idle")
        try channel.writeOutbound(LedgerResponse.pong(Pong(server: "ledgerd")).frame(requestID: 9))
        deadlines.requestsInHand.answered()
        channel.embeddedEventLoop.advanceTime(by: .seconds(14))
        #expect(channel.isActive, "the timeout counts from the answer")
        channel.embeddedEventLoop.advanceTime(by: .seconds(16))
        #expect(try channel.readOutbound(as: ByteBuffer.self) != nil, "the answer")
        #expect(try Self.closingError(channel)?.code == .idleTimeout)
        #expect(stats.connectionsIdleClosed.load(ordering: .relaxed) == 1)
    }

    @Test func aTailIsNeverClosedForBeingQuiet() throws {
        let (channel, stats) = try Self.channel(idleTimeout: .seconds(15))
        try channel.triggerUserOutboundEvent(ConnectionDeadlines.Streaming()).wait()
        channel.embeddedEventLoop.advanceTime(by: .seconds(3600))
        #expect(channel.isActive)
        #expect(stats.connectionsIdleClosed.load(ordering: .relaxed) == 0)
    }
}
