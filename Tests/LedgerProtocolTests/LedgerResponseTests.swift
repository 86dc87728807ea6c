import LedgerProtocol
import NIOCore
import Testing

@Suite struct LedgerResponseTests {
    @Test(arguments: Fixtures.responses)
    func roundTrips(response: LedgerResponse) throws {
        let frame = response.frame(requestID: 9)
        var wire = ByteBuffer()
        frame.encode(into: &wire)
        var decoder = LedgerFrameDecoder()
        let decoded = try #require(try decoder.decode(buffer: &wire))
        #expect(decoded.requestID == 9)
        #expect(try LedgerResponse.decode(decoded) == response)
    }

    /// A page of leaf records whose length says more than the frame holds is refused, not read past.
    @Test func aTreePageThatClaimsMoreBytesThanItHoldsIsMalformed() throws {
        var payload = ByteBuffer()
        payload.writeInteger(UInt8(3))
        payload.writeInteger(UInt32(56_000))
        payload.writeBytes([UInt8](repeating: 0, count: 56))
        let error = try #require(throws: LedgerProtocolError.self) {
            try LedgerResponse.decode(LedgerFrame(type: LedgerResponse.ID.treePage.rawValue, requestID: 1, payload: payload))
        }
        #expect(error.code == .malformedFrame && error.message.contains("leaf records"))
    }

    @Test func responseTypesHaveTheHighBitSet() {
        for response in Fixtures.responses {
            #expect(response.id.rawValue & 0x80 == 0x80)
        }
        for request in Fixtures.requests {
            #expect(request.id.rawValue & 0x80 == 0)
        }
    }
}
