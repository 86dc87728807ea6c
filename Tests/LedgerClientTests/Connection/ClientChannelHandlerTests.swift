import LedgerProtocol
import NIOConcurrencyHelpers
import NIOCore
import NIOEmbedded
import Testing

@testable import LedgerClient

/// The handler only carries what happens on the channel to the connection, naming which connection.
@Suite struct ClientChannelHandlerTests {
    final class Recorder: ClientChannelEvents {
        enum Event: Equatable {
            case received(type: UInt8, requestID: UInt32, connection: UInt64)
            case writability(Bool, connection: UInt64)
            case failed(connection: UInt64)
            case closed(connection: UInt64)
        }

        let events = NIOLockedValueBox<[Event]>([])

        func received(_ frame: LedgerFrame, on connection: UInt64) {
            self.events.withLockedValue { $0.append(.received(type: frame.type, requestID: frame.requestID, connection: connection)) }
        }
        func writabilityChanged(_ writable: Bool, on connection: UInt64) {
            self.events.withLockedValue { $0.append(.writability(writable, connection: connection)) }
        }
        func failed(_ error: any Error, on connection: UInt64) {
            self.events.withLockedValue { $0.append(.failed(connection: connection)) }
        }
        func closed(_ connection: UInt64) {
            self.events.withLockedValue { $0.append(.closed(connection: connection)) }
        }
    }

    static func channel(_ recorder: Recorder, connection: UInt64) throws -> EmbeddedChannel {
        let channel = EmbeddedChannel()
        try channel.pipeline.syncOperations.addHandler(ByteToMessageHandler(LedgerFrameDecoder()))
        try channel.pipeline.syncOperations.addHandler(ClientChannelHandler(events: recorder, connection: connection))
        try channel.connect(to: SocketAddress(ipAddress: "127.0.0.1", port: 1)).wait()
        return channel
    }

    @Test func framesReadAreForwardedInOrderWithTheConnectionsID() throws {
        let recorder = Recorder()
        let channel = try Self.channel(recorder, connection: 7)
        var bytes = ByteBuffer()
        LedgerResponse.pong(Pong(server: "ledgerd")).frame(requestID: 3).encode(into: &bytes)
        LedgerResponse.ack(Ack(committed: 1)).frame(requestID: 4).encode(into: &bytes)
        // Split across reads: the decoder in front joins them.
        let first = bytes.readSlice(length: 5)!
        try channel.writeInbound(first)
        try channel.writeInbound(bytes)
        #expect(
            recorder.events.withLockedValue { $0 } == [
                .received(type: LedgerResponse.ID.pong.rawValue, requestID: 3, connection: 7),
                .received(type: LedgerResponse.ID.ack.rawValue, requestID: 4, connection: 7),
            ])
        _ = try channel.finish()
        #expect(recorder.events.withLockedValue { $0.last } == .closed(connection: 7))
    }

    @Test func anErrorIsReportedAndClosesTheChannel() throws {
        let recorder = Recorder()
        let channel = try Self.channel(recorder, connection: 2)
        channel.pipeline.fireErrorCaught(ChannelError.connectTimeout(.seconds(1)))
        channel.embeddedEventLoop.run()
        #expect(!channel.isActive)
        #expect(recorder.events.withLockedValue { $0 } == [.failed(connection: 2), .closed(connection: 2)])
    }

    @Test func writabilityIsForwarded() throws {
        let recorder = Recorder()
        let channel = try Self.channel(recorder, connection: 5)
        channel.isWritable = false
        channel.pipeline.fireChannelWritabilityChanged()
        channel.isWritable = true
        channel.pipeline.fireChannelWritabilityChanged()
        #expect(recorder.events.withLockedValue { $0 } == [.writability(false, connection: 5), .writability(true, connection: 5)])
        _ = try channel.finish()
    }
}
