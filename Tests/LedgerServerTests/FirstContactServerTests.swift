import Foundation
import LedgerProtocol
import LedgerServer
import LedgerServerTestSupport
import LedgerTestSupport
import NIOCore
import Testing

/// What PROTOCOL.md promises a client author, on the real listener.
@Suite struct FirstContactServerTests {
    static func event(_ index: Int) -> LedgerEvent {
        LedgerEvent(id: UUID(), eventType: "clip_created", entityType: "clip", entityID: "c-\(index)")
    }

    /// A query sees every event its connection sent before it, acknowledged or not (read your own writes).
    @Test func aPipelinedQuerySeesTheConnectionsOwnWrites() async throws {
        let server = try await TestServer.start()
        let client = try RawSocket(path: server.socketPath)
        for round in 1...20 {
            for index in 0..<25 {
                client.send(.logEvent(LogEvent(event: Self.event(index))), requestID: 0)
            }
            // The count rides right behind the unacknowledged events, with no wait in between.
            client.send(.count(CountRequest(filter: EventFilter())), requestID: UInt32(round))
            let answer = try #require(try await client.receive())
            #expect(answer.requestID == UInt32(round) && answer.response == .count(CountResult(count: UInt64(round * 25))), "\(answer)")
        }
        // And right behind a sync, whose ack comes first.
        client.send(.logEvent(LogEvent(event: Self.event(99))), requestID: 0)
        client.send(.sync, requestID: 100)
        client.send(.count(CountRequest(filter: EventFilter())), requestID: 101)
        #expect(try await client.receive()?.response == .ack(Ack(committed: 0)))
        #expect(try await client.receive()?.response == .count(CountResult(count: 501)))
        try await server.stopAndRemove()
    }

    /// A query right behind acknowledged logs whose acks have not been read waits for their commit;
    /// one sent after the acks were read waits for nothing: no sync of its own goes through the
    /// writer, which would count as a batch.
    @Test func aQueryAfterReadAcksCostsNoSync() async throws {
        let server = try await TestServer.start()
        let client = try RawSocket(path: server.socketPath)
        for index in 0..<3 {
            client.send(.logEvent(LogEvent(event: Self.event(index), acknowledged: true)), requestID: UInt32(index + 1))
        }
        client.send(.count(CountRequest(filter: EventFilter())), requestID: 4)
        for _ in 0..<3 { #expect(try await client.receive()?.response == .ack(Ack(committed: 1))) }
        #expect(try await client.receive()?.response == .count(CountResult(count: 3)))

        client.send(.logEvent(LogEvent(event: Self.event(3), acknowledged: true)), requestID: 5)
        #expect(try await client.receive()?.response == .ack(Ack(committed: 1)))
        let before = try #require(try await LimitsTests.counter("batches_committed", client))
        client.send(.count(CountRequest(filter: EventFilter())), requestID: 6)
        #expect(try await client.receive()?.response == .count(CountResult(count: 4)))
        #expect(try await LimitsTests.counter("batches_committed", client) == before)
        try await server.stopAndRemove()
    }

    /// PROTOCOL.md §7: a stream that ends inside a frame is answered MALFORMED_FRAME before the close.
    @Test func aStreamEndingInsideAFrameGetsMalformedFrame() async throws {
        let server = try await TestServer.start()
        let client = try RawSocket(path: server.socketPath)
        var frame = ByteBuffer()
        LedgerRequest.ping.encode(requestID: 9, into: &frame)
        client.send(Array(frame.readableBytesView.prefix(frame.readableBytes - 3)))
        client.shutdownWrite()
        let answer = try #require(try await client.receive())
        guard case .error(let error) = answer.response else {
            Issue.record("expected MALFORMED_FRAME, got \(answer.response)")
            return
        }
        #expect(error.code == .malformedFrame && error.closesConnection && answer.requestID == 0, "\(error)")
        #expect(try await client.receive() == nil)
        try await server.stopAndRemove()
    }

    /// §5: frames after subscribe are read and dropped; bytes that break the framing end the tail
    /// with MALFORMED_FRAME, as they end any connection.
    @Test func aTailIgnoresFramesAndEndsOnBrokenFraming() async throws {
        let server = try await TestServer.start()
        let tail = try RawSocket(path: server.socketPath)
        tail.send(.subscribe(SubscribeRequest()), requestID: 3)
        guard case .tail(let live)? = try await tail.receive()?.response else {
            Issue.record("expected the live batch")
            return
        }
        #expect(live.events.isEmpty)
        tail.send(.ping, requestID: 4)
        let writer = try RawSocket(path: server.socketPath)
        #expect(try await writer.request(.logEvent(LogEvent(event: Self.event(1), acknowledged: true))) == .ack(Ack(committed: 1)))
        guard case .tail(let batch)? = try await tail.receive()?.response else {
            Issue.record("the ping is dropped and the tail goes on")
            return
        }
        #expect(batch.events.count == 1 && batch.next == batch.events.last?.tailCursor)
        tail.send([0, 0, 0, 1, 0xFF])
        guard case .error(let error)? = try await tail.receive()?.response else {
            Issue.record("expected MALFORMED_FRAME")
            return
        }
        #expect(error.code == .malformedFrame && error.closesConnection)
        #expect(try await tail.receive() == nil)
        try await server.stopAndRemove()
    }

    /// A filter is not an event: its invalid UTF-8 is INVALID_QUERY and a protocol error, not a rejected event.
    @Test func aFiltersInvalidTextIsABadQuery() async throws {
        let server = try await TestServer.start()
        let client = try RawSocket(path: server.socketPath)
        var frame = ByteBuffer()
        LedgerRequest.count(CountRequest(filter: EventFilter(eventType: "\u{e9}"))).encode(requestID: 4, into: &frame)
        var bytes = Array(frame.readableBytesView)
        let accent = try #require(bytes.firstIndex(of: 0xC3))
        bytes[accent] = 0xFF
        client.send(bytes)
        guard case .error(let error)? = try await client.receive()?.response else {
            Issue.record("expected an error")
            return
        }
        #expect(error.code == .invalidQuery && !error.closesConnection, "\(error)")
        #expect(server.stats.eventsRejected.load(ordering: .relaxed) == 0 && server.stats.protocolErrors.load(ordering: .relaxed) == 1)
        #expect(try await client.request(.ping, requestID: 5) != nil, "the connection goes on")
        try await server.stopAndRemove()
    }

    /// A tail that saw no event still resumes with nothing skipped: its first batch says from where.
    @Test func theLiveBatchCarriesACursorThatMissesNothing() async throws {
        let server = try await TestServer.start()
        let writer = try RawSocket(path: server.socketPath)
        #expect(try await writer.request(.logEvent(LogEvent(event: Self.event(0), acknowledged: true))) == .ack(Ack(committed: 1)))
        let first = try RawSocket(path: server.socketPath)
        first.send(.subscribe(SubscribeRequest()), requestID: 1)
        guard case .tail(let live)? = try await first.receive()?.response, let start = live.next else {
            Issue.record("the live batch carries a cursor")
            return
        }
        first.close()
        // Committed while nobody was tailing.
        for index in 1...3 {
            #expect(try await writer.request(.logEvent(LogEvent(event: Self.event(index), acknowledged: true))) == .ack(Ack(committed: 1)))
        }
        let resumed = try RawSocket(path: server.socketPath)
        resumed.send(.subscribe(SubscribeRequest(after: start)), requestID: 2)
        var seen: [String] = []
        while seen.count < 3 {
            guard case .tail(let batch)? = try await resumed.receive()?.response else { break }
            seen += batch.events.map(\.entityID)
        }
        #expect(seen == ["c-1", "c-2", "c-3"])
        try await server.stopAndRemove()
    }
}
