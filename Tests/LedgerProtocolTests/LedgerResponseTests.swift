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

    @Test func responseTypesHaveTheHighBitSet() {
        for response in Fixtures.responses {
            #expect(response.id.rawValue & 0x80 == 0x80)
        }
        for request in Fixtures.requests {
            #expect(request.id.rawValue & 0x80 == 0)
        }
    }
}
