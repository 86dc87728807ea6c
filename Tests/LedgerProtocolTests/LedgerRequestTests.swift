import LedgerProtocol
import NIOCore
import Testing

@Suite struct LedgerRequestTests {
    @Test(arguments: Fixtures.requests)
    func roundTrips(request: LedgerRequest) throws {
        var wire = ByteBuffer()
        request.encode(requestID: 77, into: &wire)
        var decoder = LedgerFrameDecoder()
        let frame = try #require(try decoder.decode(buffer: &wire))
        #expect(wire.readableBytes == 0)
        #expect(frame.requestID == 77)
        #expect(frame.type == request.id.rawValue)
        #expect(try LedgerRequest.decode(frame) == request)
        #expect(request.frame(requestID: 77) == frame)
    }

    @Test func unknownTypeFailsThatRequestOnly() throws {
        let frame = LedgerFrame(type: 0x7E, requestID: 5, payload: ByteBuffer())
        let error = try #require(throws: LedgerProtocolError.self) { try LedgerRequest.decode(frame) }
        #expect(error.code == .unknownMessageType)
        #expect(!error.closesConnection)
    }

    @Test func trailingBytesAreMalformed() throws {
        var payload = ByteBuffer()
        LogEvent(event: Fixtures.minimalEvent).encode(into: &payload)
        payload.writeInteger(UInt8(0))
        let error = try #require(throws: LedgerProtocolError.self) {
            try LedgerRequest.decode(LedgerFrame(type: LedgerRequest.ID.logEvent.rawValue, requestID: 1, payload: payload))
        }
        #expect(error.code == .malformedFrame)
        #expect(error.closesConnection)
    }

    /// Every request with a payload, cut anywhere short of its end, is malformed, never read past.
    @Test(arguments: Fixtures.requests.filter { $0.frame(requestID: 1).payload.readableBytes > 0 })
    func everyRequestCutShortIsMalformed(_ request: LedgerRequest) throws {
        let payload = request.frame(requestID: 1).payload
        for cut in 0..<payload.readableBytes {
            let error = try #require(throws: LedgerProtocolError.self) {
                try LedgerRequest.decode(LedgerFrame(type: request.id.rawValue, requestID: 1, payload: payload.getSlice(at: 0, length: cut)!))
            }
            #expect(error.code == .malformedFrame)
        }
    }

    @Test func aTreeReadOfAnUnknownPartIsMalformed() throws {
        let error = try #require(throws: LedgerProtocolError.self) {
            try LedgerRequest.decode(LedgerFrame(type: LedgerRequest.ID.treeRead.rawValue, requestID: 1, payload: ByteBuffer(bytes: [8])))
        }
        #expect(error.code == .malformedFrame && error.message.contains("part 8"))
    }

    @Test func truncatedPayloadIsMalformed() throws {
        var payload = ByteBuffer()
        LogEvent(event: Fixtures.fullEvent).encode(into: &payload)
        for cut in [1, 10, 20, payload.readableBytes - 1] {
            let error = try #require(throws: LedgerProtocolError.self) {
                try LedgerRequest.decode(
                    LedgerFrame(type: LedgerRequest.ID.logEvent.rawValue, requestID: 1, payload: payload.getSlice(at: 0, length: cut)!))
            }
            #expect(error.code == .malformedFrame)
        }
    }

    @Test func invalidUTF8IsAnInvalidEventNotAClosedConnection() throws {
        var payload = ByteBuffer()
        payload.writeInteger(UInt8(0))
        payload.ledgerWriteUUID(Fixtures.eventID)
        payload.writeInteger(UInt8(0))
        payload.writeInteger(UInt16(2))
        payload.writeBytes([0xC3, 0x28])
        let error = try #require(throws: LedgerProtocolError.self) {
            try LedgerRequest.decode(LedgerFrame(type: LedgerRequest.ID.logEvent.rawValue, requestID: 1, payload: payload))
        }
        #expect(error.code == .invalidEvent)
        #expect(error.message.contains("event_type"))
        #expect(!error.closesConnection)
    }

    @Test func reservedFlagBitsAreMalformed() throws {
        var payload = ByteBuffer()
        LogEvent(event: Fixtures.minimalEvent).encode(into: &payload)
        payload.setInteger(UInt8(0x80), at: 0)
        let error = try #require(throws: LedgerProtocolError.self) {
            try LedgerRequest.decode(LedgerFrame(type: LedgerRequest.ID.logEvent.rawValue, requestID: 1, payload: payload))
        }
        #expect(error.code == .malformedFrame)
    }

    @Test func jobEventWithoutJobIDIsRefused() throws {
        let message = LogJobEvent(id: Fixtures.eventID, jobID: LedgerEvent.unassignedID, eventType: "job_created")
        let error = try #require(throws: LedgerProtocolError.self) { try message.event() }
        #expect(error.code == .invalidEvent)
        #expect(error.message.contains("job_id"))
    }

    @Test func jobEventBecomesAJobEntityEvent() throws {
        let event = try LogJobEvent(id: Fixtures.eventID, jobID: Fixtures.jobID, eventType: "job_created").event()
        #expect(event.entityType == "job")
        #expect(event.entityID == "11111111-2222-4333-8444-555555555555")
        #expect(event.jobID == Fixtures.jobID)
    }
}
