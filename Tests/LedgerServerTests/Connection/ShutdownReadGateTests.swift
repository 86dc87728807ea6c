import LedgerProtocol
import NIOCore
import NIOEmbedded
import Testing

@testable import LedgerServer

/// The gate that ends a connection's inbound frames on graceful shutdown, on an EmbeddedChannel.
@Suite struct ShutdownReadGateTests {
    /// Stands where the async channel's handler sits: records the frames and events that reach it.
    final class Recorder: ChannelInboundHandler {
        typealias InboundIn = LedgerFrame
        var requestIDs: [UInt32] = []
        var inputClosed = 0
        var otherEvents = 0

        func channelRead(context: ChannelHandlerContext, data: NIOAny) {
            self.requestIDs.append(Self.unwrapInboundIn(data).requestID)
        }

        func userInboundEventTriggered(context: ChannelHandlerContext, event: Any) {
            if case ChannelEvent.inputClosed = event {
                self.inputClosed += 1
            } else {
                self.otherEvents += 1
            }
        }
    }

    /// Stands where the socket is: counts the reads asked of it.
    final class ReadCounter: ChannelOutboundHandler {
        typealias OutboundIn = LedgerFrame
        var reads = 0

        func read(context: ChannelHandlerContext) {
            self.reads += 1
            context.read()
        }
    }

    static func frame(_ requestID: UInt32) -> LedgerFrame {
        LedgerFrame(version: 1, type: LedgerRequest.ID.ping.rawValue, requestID: requestID, payload: ByteBuffer())
    }

    @Test func passesEverythingUntilClosedThenNoFramesOrReadsButStillWrites() throws {
        let channel = EmbeddedChannel()
        let counter = ReadCounter()
        let recorder = Recorder()
        try channel.pipeline.syncOperations.addHandlers([counter, ShutdownReadGate(), recorder])

        try channel.writeInbound(Self.frame(1))
        channel.read()
        channel.pipeline.fireUserInboundEventTriggered("some other event")
        #expect(recorder.requestIDs == [1])
        #expect(counter.reads == 1)
        #expect(recorder.otherEvents == 1)
        #expect(recorder.inputClosed == 0)

        try channel.triggerUserOutboundEvent(ShutdownReadGate.Close()).wait()
        #expect(recorder.inputClosed == 1, "the handlers behind the gate learn that input is closed")

        try channel.writeInbound(Self.frame(2))
        channel.read()
        #expect(recorder.requestIDs == [1], "a frame decoded after the gate closed goes no further")
        #expect(counter.reads == 1, "no more reads reach the socket")

        try channel.triggerUserOutboundEvent(ShutdownReadGate.Close()).wait()
        channel.pipeline.fireUserInboundEventTriggered(ChannelEvent.inputClosed)
        #expect(recorder.inputClosed == 1, "input is closed once, however often it is said")

        try channel.writeOutbound(Self.frame(3))
        #expect(try channel.readOutbound(as: LedgerFrame.self)?.requestID == 3, "responses still go out")
        _ = try channel.finish()
    }
}
