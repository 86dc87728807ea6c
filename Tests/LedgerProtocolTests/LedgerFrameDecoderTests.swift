import LedgerProtocol
import NIOCore
import NIOTestUtils
import Testing

@Suite struct LedgerFrameDecoderTests {
    func frameBytes(type: UInt8, requestID: UInt32, payload: [UInt8], version: UInt8 = 1) -> ByteBuffer {
        var buffer = ByteBuffer()
        LedgerFrame(version: version, type: type, requestID: requestID, payload: ByteBuffer(bytes: payload)).encode(into: &buffer)
        return buffer
    }

    @Test func decodesFramesDeliveredByteByByteAndSeveralPerBuffer() throws {
        let frames = [
            LedgerFrame(type: 0x01, requestID: 1, payload: ByteBuffer()),
            LedgerFrame(type: 0x02, requestID: 0xDEAD_BEEF, payload: ByteBuffer(bytes: [1, 2, 3, 4, 5])),
            LedgerFrame(type: 0x12, requestID: 7, payload: ByteBuffer(repeating: 0xAB, count: 300)),
        ]
        let inputs: [(ByteBuffer, [LedgerFrame])] = frames.map { frame in
            var buffer = ByteBuffer()
            frame.encode(into: &buffer)
            return (buffer, [frame])
        }
        try ByteToMessageDecoderVerifier.verifyDecoder(inputOutputPairs: inputs) { LedgerFrameDecoder() }
    }

    @Test func leavesPartialFrameUntouched() throws {
        var decoder = LedgerFrameDecoder()
        var buffer = self.frameBytes(type: 1, requestID: 9, payload: [1, 2, 3])
        var partial = buffer.readSlice(length: buffer.readableBytes - 1)!
        #expect(try decoder.decode(buffer: &partial) == nil)
        #expect(partial.readerIndex == 0)
    }

    @Test(arguments: [0, 1, 5] as [UInt32])
    func rejectsLengthShorterThanHeader(length: UInt32) throws {
        var decoder = LedgerFrameDecoder()
        var buffer = ByteBuffer()
        buffer.writeInteger(length)
        let error = try #require(throws: LedgerProtocolError.self) { try decoder.decode(buffer: &buffer) }
        #expect(error.code == .malformedFrame)
        #expect(error.closesConnection)
    }

    @Test func rejectsOversizedLengthBeforeBufferingThePayload() throws {
        var decoder = LedgerFrameDecoder(maximumFrameLength: 1024)
        var buffer = ByteBuffer()
        buffer.writeInteger(UInt32(1025))
        let error = try #require(throws: LedgerProtocolError.self) { try decoder.decode(buffer: &buffer) }
        #expect(error.code == .frameTooLarge)
        #expect(error.message.contains("1025"))
    }

    @Test func acceptsFrameOfExactlyTheMaximumLength() throws {
        var decoder = LedgerFrameDecoder(maximumFrameLength: 1024)
        var buffer = self.frameBytes(type: 2, requestID: 1, payload: Array(repeating: 7, count: 1024 - LedgerFrame.headerLength))
        let frame = try #require(try decoder.decode(buffer: &buffer))
        #expect(frame.payload.readableBytes == 1018)
    }

    @Test func rejectsUnknownVersionAsSoonAsItsByteArrives() throws {
        var decoder = LedgerFrameDecoder()
        var buffer = ByteBuffer()
        buffer.writeInteger(UInt32(100))
        buffer.writeInteger(UInt8(2))
        let error = try #require(throws: LedgerProtocolError.self) { try decoder.decode(buffer: &buffer) }
        #expect(error.code == .unsupportedVersion)
        #expect(error.closesConnection)
    }

    @Test func reportsStreamEndingInsideAFrame() throws {
        var decoder = LedgerFrameDecoder()
        var buffer = self.frameBytes(type: 1, requestID: 1, payload: [1, 2, 3])
        var truncated = buffer.readSlice(length: 8)!
        let error = try #require(throws: LedgerProtocolError.self) { try decoder.decodeLast(buffer: &truncated, seenEOF: true) }
        #expect(error.code == .malformedFrame)
    }
}
