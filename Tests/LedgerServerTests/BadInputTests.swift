import Foundation
import LedgerProtocol
import LedgerServer
import NIOCore
import LedgerServerTestSupport
import LedgerTestSupport
import Testing

/// Hostile and broken input against a running daemon: each gets the documented error,
/// closes only its own connection when the spec says so, and costs nothing else.
@Suite struct BadInputTests {
    struct Case: Sendable, CustomTestStringConvertible {
        var name: String
        var bytes: [UInt8]
        var code: LedgerErrorCode
        var closes: Bool
        var testDescription: String { self.name }
    }

    static func frame(version: UInt8 = 1, type: UInt8, requestID: UInt32 = 42, payload: (inout ByteBuffer) -> Void) -> [UInt8] {
        var body = ByteBuffer()
        payload(&body)
        var buffer = ByteBuffer()
        LedgerFrame(version: version, type: type, requestID: requestID, payload: body).encode(into: &buffer)
        return Array(buffer.readableBytesView)
    }

    static func logEvent(_ change: (inout LedgerEvent) -> Void) -> [UInt8] {
        var event = LedgerEvent(id: UUID(), eventType: "video_uploaded", entityType: "video_asset", entityID: "v-1")
        change(&event)
        return Self.frame(type: LedgerRequest.ID.logEvent.rawValue) { LogEvent(event: event, acknowledged: true).encode(into: &$0) }
    }

    static let cases: [Case] = [
        Case(name: "length over the limit", bytes: [0x00, 0x20, 0x00, 0x00, 0x01, 0x01], code: .frameTooLarge, closes: true),
        Case(name: "zero length", bytes: [0, 0, 0, 0], code: .malformedFrame, closes: true),
        Case(name: "wrong version", bytes: Self.frame(version: 9, type: 0x01) { _ in }, code: .unsupportedVersion, closes: true),
        Case(name: "unknown message type", bytes: Self.frame(type: 0x6A) { _ in }, code: .unknownMessageType, closes: false),
        Case(name: "payload cut short", bytes: Self.frame(type: LedgerRequest.ID.logEvent.rawValue) { $0.writeBytes([0, 1, 2, 3]) }, code: .malformedFrame, closes: true),
        Case(name: "garbage bytes", bytes: Array("GET / HTTP/1.1\r\nHost: ledger\r\n\r\n".utf8), code: .frameTooLarge, closes: true),
        Case(
            name: "invalid UTF-8",
            bytes: Self.frame(type: LedgerRequest.ID.logEvent.rawValue) {
                $0.writeInteger(UInt8(1))
                $0.ledgerWriteUUID(UUID())
                $0.writeInteger(UInt8(0))
                $0.writeInteger(UInt16(3))
                $0.writeBytes([0x61, 0xFF, 0xFE])
            }, code: .invalidEvent, closes: false),
        Case(name: "metadata not a JSON object", bytes: Self.logEvent { $0.metadata = "[1,2]" }, code: .invalidEvent, closes: false),
        Case(name: "metadata not JSON", bytes: Self.logEvent { $0.metadata = "{oops" }, code: .invalidEvent, closes: false),
        Case(name: "event_type over 100 bytes", bytes: Self.logEvent { $0.eventType = String(repeating: "e", count: 101) }, code: .invalidEvent, closes: false),
        Case(name: "entity_id over 255 bytes", bytes: Self.logEvent { $0.entityID = String(repeating: "i", count: 256) }, code: .invalidEvent, closes: false),
        Case(name: "empty entity_type", bytes: Self.logEvent { $0.entityType = "" }, code: .invalidEvent, closes: false),
        Case(
            name: "job event without a job id",
            bytes: Self.frame(type: LedgerRequest.ID.logJobEvent.rawValue) {
                LogJobEvent(id: UUID(), jobID: LedgerEvent.unassignedID, eventType: "job_created", acknowledged: true).encode(into: &$0)
            }, code: .invalidEvent, closes: false),
        Case(
            name: "severity out of range",
            bytes: Self.frame(type: LedgerRequest.ID.logJobEvent.rawValue) {
                LogJobEvent(id: UUID(), jobID: UUID(), eventType: "job_created", acknowledged: true).encode(into: &$0)
                $0.setInteger(UInt8(7), at: 1 + 16 + 1 + 16 + 2 + "job_created".utf8.count)
            }, code: .invalidEvent, closes: false),
        Case(name: "query limit 0", bytes: Self.frame(type: LedgerRequest.ID.query.rawValue) { QueryRequest(limit: 0).encode(into: &$0) }, code: .invalidQuery, closes: false),
    ]

    @Test(arguments: Self.cases)
    func getsTheDocumentedErrorAndCostsNothingElse(_ bad: Case) async throws {
        let server = try await TestServer.start { $0.maximumFrameLength = 1 << 20 }

        // A well-behaved client logs before, during and after the bad input.
        let good = try RawSocket(path: server.socketPath)
        var goodIDs: [UUID] = []
        func logGood(_ requestID: UInt32) async throws {
            let event = LedgerEvent(id: UUID(), eventType: "job_created", entityType: "job", entityID: "good-\(requestID)")
            goodIDs.append(event.id)
            let answer = try await good.request(.logEvent(LogEvent(event: event, acknowledged: true)), requestID: requestID)
            #expect(answer == .ack(Ack(committed: 1)))
        }
        try await logGood(1)

        let hostile = try RawSocket(path: server.socketPath)
        hostile.send(bad.bytes)
        try await logGood(2)
        let (requestID, response) = try #require(try await hostile.receive())
        guard case .error(let error) = response else {
            Issue.record("expected an error, got \(response)")
            return
        }
        #expect(error.code == bad.code)
        #expect(error.closesConnection == bad.closes)
        #expect(!error.message.isEmpty)
        if bad.closes {
            #expect(requestID == 0 || bad.name == "payload cut short")
            #expect(try await hostile.receive() == nil, "the daemon should have closed the connection")
        } else {
            #expect(requestID == 42)
            #expect(try await hostile.request(.ping, requestID: 43) == .pong(Pong(server: "ledgerd/0.1.0")))
        }
        try await logGood(3)

        let stored = try await server.store.count(EventFilter())
        #expect(stored == UInt64(goodIDs.count), "only the good client's events are stored")
        #expect(try await server.store.count(EventFilter(entityType: "job")) == 3)
        try await server.stopAndRemove()
    }

    @Test func streamEndingInsideAFrameClosesOnlyThatConnection() async throws {
        let server = try await TestServer.start()
        let hostile = try RawSocket(path: server.socketPath)
        var buffer = ByteBuffer()
        LedgerRequest.ping.encode(requestID: 1, into: &buffer)
        hostile.send(Array(buffer.readableBytesView.prefix(7)))
        hostile.shutdownWrite()
        if let (_, response) = try await hostile.receive() {
            guard case .error(let error) = response else {
                Issue.record("expected an error, got \(response)")
                return
            }
            #expect(error.code == .malformedFrame)
        }
        #expect(try await hostile.receive() == nil)
        let other = try RawSocket(path: server.socketPath)
        #expect(try await other.request(.ping) == .pong(Pong(server: "ledgerd/0.1.0")))
        try await server.stopAndRemove()
    }

    @Test func anInvalidEventInABatchRejectsTheWholeBatch() async throws {
        let server = try await TestServer.start()
        let client = try RawSocket(path: server.socketPath)
        var events = (0..<5).map { LedgerEvent(id: UUID(), eventType: "clip_created", entityType: "clip", entityID: "c-\($0)") }
        events[3].metadata = "not json"
        let answer = try await client.request(.logBatch(LogBatch(events: events, acknowledged: true)))
        guard case .error(let error) = answer else {
            Issue.record("expected an error, got \(String(describing: answer))")
            return
        }
        #expect(error.code == .invalidEvent)
        #expect(error.message.hasPrefix("event 3: metadata"))
        #expect(try await server.store.count(EventFilter()) == 0)
        #expect(server.stats.eventsRejected.load(ordering: .relaxed) == 5)
        try await server.stopAndRemove()
    }

    @Test func aBatchOverTheConfiguredLimitIsRefused() async throws {
        let server = try await TestServer.start { $0.maximumBatchEvents = 10 }
        let client = try RawSocket(path: server.socketPath)
        let events = (0..<11).map { LedgerEvent(id: UUID(), eventType: "clip_created", entityType: "clip", entityID: "c-\($0)") }
        guard case .error(let error) = try await client.request(.logBatch(LogBatch(events: events, acknowledged: true))) else {
            Issue.record("expected an error")
            return
        }
        #expect(error.message.contains("limit is 10"))
        #expect(try await client.request(.logBatch(LogBatch(events: Array(events.prefix(10)), acknowledged: true)), requestID: 2) == .ack(Ack(committed: 10)))
        try await server.stopAndRemove()
    }

    @Test func craftedGapCountsSaturateInsteadOfWrappingTheCounter() async throws {
        let server = try await TestServer.start()
        let client = try RawSocket(path: server.socketPath)
        for index in 0..<3 {
            let report = ReportGap(
                id: UUID(), client: "liar", reason: .daemonUnreachable, events: UInt64.max,
                firstDropped: LedgerTimestamp(rawValue: 1_700_000_000_000_000), lastDropped: LedgerTimestamp(rawValue: 1_700_000_000_000_001))
            #expect(try await client.request(.reportGap(report), requestID: UInt32(index + 1)) == .ack(Ack(committed: 1)))
        }
        #expect(try await LimitsTests.counter("events_dropped_by_clients", client) == Int64.max)
        try await server.stopAndRemove()
    }
}
