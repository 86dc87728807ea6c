import Foundation
import LedgerProtocol
import LedgerServer
import LedgerServerTestSupport
import LedgerTestSupport
import NIOCore
import Testing

/// Live tails against the real listener and batch writer.
@Suite struct TailTests {
    @Test func aSubscriberGetsMatchingEventsInCommitOrder() async throws {
        let server = try await TestServer.start()
        let subscriber = try RawSocket(path: server.socketPath)
        subscriber.send(.subscribe(SubscribeRequest(filter: EventFilter(eventType: "clip_created"))), requestID: 7)
        let live = try #require(try await subscriber.receive())
        // An empty first batch says the tail is live, and where to resume from: nothing is stored yet.
        #expect(live.requestID == 7 && live.response == .tail(TailBatch(events: [], next: TailCursor(sequence: 0))))

        let writer = try RawSocket(path: server.socketPath)
        var sent: [UUID] = []
        for index in 0..<40 {
            // Timestamps deliberately out of order: a tail follows commits, not timestamps.
            let type = index % 2 == 0 ? "clip_created" : "job_created"
            let event = LedgerEvent(
                id: UUID(), timestamp: LedgerTimestamp(rawValue: 1_000_000 - Int64(index)), eventType: type, entityType: "clip", entityID: "c-\(index)")
            #expect(try await writer.request(.logEvent(LogEvent(event: event, acknowledged: true)), requestID: UInt32(index + 1)) == .ack(Ack(committed: 1)))
            if type == "clip_created" { sent.append(event.id) }
        }
        var received: [LedgerEvent] = []
        while received.count < sent.count {
            guard case .tail(let batch) = try #require(try await subscriber.receive()).response else {
                Issue.record("expected tail batches")
                return
            }
            #expect(batch.missed == 0)
            received += batch.events
        }
        #expect(received.map(\.id) == sent)
        #expect(received.allSatisfy { $0.peer?.pid == getpid() }, "tailed events carry their sender")
        try await server.stopAndRemove()
    }

    @Test func aSubscriberThatStopsReadingNeverHoldsUpTheWriters() async throws {
        let server = try await TestServer.start { $0.tailBufferEvents = 500 }
        let stalled = try RawSocket(path: server.socketPath)
        stalled.send(.subscribe(SubscribeRequest()), requestID: 1)
        _ = try await stalled.receive()

        // The subscriber reads nothing while 20,000 acknowledged events go through.
        let writer = try RawSocket(path: server.socketPath)
        let metadata = #"{"padding":""# + String(repeating: "x", count: 200) + #""}"#
        for round in 0..<20 {
            let events = (0..<1_000).map { index in
                LedgerEvent(id: UUID(), eventType: "clip_created", entityType: "clip", entityID: "c-\(round)-\(index)", metadata: metadata)
            }
            let answer = try await writer.request(.logBatch(LogBatch(events: events, acknowledged: true)), requestID: UInt32(round + 1))
            #expect(answer == .ack(Ack(committed: 1_000)), "round \(round)")
        }
        #expect(try await server.store.count(EventFilter()) == 20_000)

        guard case .stats(let stats) = try await writer.request(.stats, requestID: 99) else {
            Issue.record("expected stats")
            return
        }
        let missed = try #require(stats[counter: "tail_missed"])
        #expect(missed > 0, "the stalled subscriber was skipped ahead")
        #expect(stats[counter: "tail_subscribers"] == 1)

        // When it reads again it learns how much it missed; delivered and missed add up to everything.
        var delivered = 0
        var reported: UInt64 = 0
        while delivered + Int(reported) < 20_000 {
            guard case .tail(let batch) = try #require(try await stalled.receive()).response else {
                Issue.record("expected tail batches")
                return
            }
            delivered += batch.events.count
            reported += batch.missed
        }
        #expect(reported == UInt64(missed))
        #expect(delivered + Int(reported) == 20_000)
        try await server.stopAndRemove()
    }
}

@Suite struct TailResumeTests {
    static func clip(_ index: Int) -> LedgerEvent {
        LedgerEvent(id: UUID(), timestamp: LedgerTimestamp(rawValue: 5_000_000 - Int64(index)), eventType: "clip_created", entityType: "clip", entityID: "c-\(index)")
    }

    static func collect(_ socket: RawSocket, count: Int) async throws -> [LedgerEvent] {
        var events: [LedgerEvent] = []
        while events.count < count {
            guard case .tail(let batch) = try #require(try await socket.receive()).response else { throw TailFailure() }
            #expect(batch.missed == 0)
            events += batch.events
        }
        return events
    }

    struct TailFailure: Error {}

    @Test func aTailResumesAfterItsCursorWithNothingSkippedOrRepeated() async throws {
        let server = try await TestServer.start()
        let writer = try RawSocket(path: server.socketPath)
        var requestID: UInt32 = 0
        func log(_ events: [LedgerEvent]) async throws {
            for event in events {
                requestID += 1
                #expect(try await writer.request(.logEvent(LogEvent(event: event, acknowledged: true)), requestID: requestID) == .ack(Ack(committed: 1)))
                // Interleave events the filter leaves out.
                requestID += 1
                let other = LedgerEvent(id: UUID(), eventType: "job_created", entityType: "job", entityID: "j")
                _ = try await writer.request(.logEvent(LogEvent(event: other, acknowledged: true)), requestID: requestID)
            }
        }
        let filter = EventFilter(eventType: "clip_created")

        let first = try RawSocket(path: server.socketPath)
        first.send(.subscribe(SubscribeRequest(filter: filter)), requestID: 1)
        _ = try await first.receive()
        let early = (0..<10).map(Self.clip)
        try await log(early)
        let seen = try await Self.collect(first, count: 10)
        #expect(seen.map(\.id) == early.map(\.id))
        // The reader stops after the fifth event and goes away; ten more are committed meanwhile.
        let cursor = try #require(seen[4].tailCursor)
        first.shutdownWrite()
        let whileAway = (10..<20).map(Self.clip)
        try await log(whileAway)

        let second = try RawSocket(path: server.socketPath)
        second.send(.subscribe(SubscribeRequest(filter: filter, after: cursor)), requestID: 2)
        let live = (20..<30).map(Self.clip)
        // New commits race the catch-up read; each must still arrive exactly once, in order.
        try await log(live)
        let resumed = try await Self.collect(second, count: 25)
        #expect(resumed.map(\.id) == (early[5...] + whileAway + live).map(\.id))
        let sequences = resumed.compactMap(\.sequence)
        #expect(sequences.count == 25 && sequences == sequences.sorted())
        try await server.stopAndRemove()
    }

    @Test func aForeignTailCursorIsRefused() async throws {
        let server = try await TestServer.start()
        let client = try RawSocket(path: server.socketPath)
        var frame = ByteBuffer()
        LedgerRequest.subscribe(SubscribeRequest()).encode(requestID: 3, into: &frame)
        // Replace the absent cursor with a query cursor's layout byte.
        frame.moveWriterIndex(to: frame.writerIndex - 1)
        frame.writeBytes([1, 0, 9, 1, 0, 0, 0, 0, 0, 0, 0, 1])
        frame.setInteger(UInt32(frame.readableBytes - 4), at: 0)
        client.send(Array(frame.readableBytesView))
        guard case .error(let error) = try #require(try await client.receive()).response else {
            Issue.record("expected an error")
            return
        }
        #expect(error.code == .invalidQuery)
        try await server.stopAndRemove()
    }
}
