import Foundation
import LedgerProtocol
import LedgerServer
import LedgerServerTestSupport
import LedgerTestSupport
import NIOCore
import Testing

@testable import LedgerStore

/// A connection ends with its socket, in every state it can be in, and never costs more than
/// its bounds while it lasts.
@Suite struct ConnectionHandlerTests {
    enum Owed: String, CaseIterable, Sendable {
        case pings, acknowledgedEvents, queries
    }

    static func frames(_ owed: Owed, count: Int) -> [UInt8] {
        var wire = ByteBuffer()
        for index in 0..<count {
            let requestID = UInt32(index + 1)
            switch owed {
            case .pings:
                LedgerRequest.ping.encode(requestID: requestID, into: &wire)
            case .acknowledgedEvents:
                let event = LedgerEvent(id: UUID(), eventType: "job_created", entityType: "job", entityID: "j-\(index)")
                LedgerRequest.logEvent(LogEvent(event: event, acknowledged: true)).encode(requestID: requestID, into: &wire)
            case .queries:
                LedgerRequest.query(QueryRequest(limit: 10)).encode(requestID: requestID, into: &wire)
            }
        }
        return Array(wire.readableBytesView)
    }

    /// Fails the test rather than hanging it when graceful shutdown never finishes.
    static func stopWithin(_ seconds: Int, _ server: TestServer) async throws {
        let stopped: Void? = try await withDeadline(seconds: seconds) { try await server.stopAndRemove() }
        #expect(stopped != nil, "graceful shutdown did not finish within \(seconds) s")
    }

    @Test(arguments: Owed.allCases)
    func aConnectionThatClosesOwingMoreThanItsQueueIsReleased(_ owed: Owed) async throws {
        let server = try await TestServer.start { $0.maximumConnections = 8 }
        let requests = Self.frames(owed, count: 2_000)
        for _ in 0..<6 {
            let closer = try RawSocket(path: server.socketPath)
            closer.send(requests)
            closer.close()
        }
        let stats = server.stats
        #expect(try await waitUntil(within: 60) { stats.connectionsTotal.load(ordering: .relaxed) == 6 })
        #expect(try await waitUntil(within: 60) { stats.connectionsCurrent.load(ordering: .relaxed) == 0 }, "every closed connection is released")
        #expect(stats.answerBytesOwed.load(ordering: .relaxed) == 0, "and what it was owed is let go")
        // The slots are free again: eight new clients all get in.
        let clients = try (0..<8).map { _ in try RawSocket(path: server.socketPath) }
        for client in clients {
            #expect(try await client.request(.ping) == .pong(Pong(server: "ledgerd/0.1.0")))
        }
        try await Self.stopWithin(60, server)
    }

    @Test func acksHeldBehindAPendingSyncDoNotKeepAClosedConnection() async throws {
        let (server, syncs) = try await BatchWriterTests.startServer()
        syncs.set(shut: true)
        let closer = try RawSocket(path: server.socketPath)
        closer.send(Self.frames(.acknowledgedEvents, count: 50))
        #expect(await syncs.heldSync(), "no sync began")
        let stats = server.stats
        #expect(try await waitUntil(within: 60) { stats.connectionsCurrent.load(ordering: .relaxed) == 1 })
        // Every event is in before the close: frames still unread when a connection ends are not run,
        // and a slow machine (a sanitizer's build) may not have read them all by the first sync.
        #expect(try await waitUntil(within: 60) { stats.eventsReceived.load(ordering: .relaxed) == 50 })
        closer.close()
        #expect(try await waitUntil(within: 60) { stats.connectionsCurrent.load(ordering: .relaxed) == 0 }, "released while its commit is still being synced")
        #expect(await syncs.heldSync(), "the sync is still held")
        syncs.set(shut: false)
        #expect(try await waitUntil(within: 60) { stats.eventsCommitted.load(ordering: .relaxed) == 50 }, "and its events are still stored")
        try await Self.stopWithin(60, server)
    }

    @Test func aPeerThatShutsDownItsWritingSideStillGetsItsAcks() async throws {
        let server = try await TestServer.start()
        let client = try RawSocket(path: server.socketPath)
        client.send(Self.frames(.acknowledgedEvents, count: 3))
        client.shutdownWrite()
        var acks: [UInt32] = []
        while let answer = try await client.receive() {
            #expect(answer.response == .ack(Ack(committed: 1)))
            acks.append(answer.requestID)
        }
        #expect(acks == [1, 2, 3])
        try await Self.stopWithin(60, server)
    }

    /// Events of about 64 KiB each, so that every page of answers is large.
    static func storeLargeEvents(_ count: Int, on server: TestServer) async throws {
        let writer = try RawSocket(path: server.socketPath)
        let metadata = "{\"blob\":\"" + String(repeating: "x", count: 60_000) + "\"}"
        let events = (0..<count).map { LedgerEvent(id: UUID(), eventType: "clip_created", entityType: "clip", entityID: "c-\($0)", metadata: metadata) }
        for chunk in stride(from: 0, to: events.count, by: 10) {
            let batch = LogBatch(events: Array(events[chunk..<min(chunk + 10, events.count)]), acknowledged: true)
            guard case .ack = try await writer.request(.logBatch(batch)) else {
                Issue.record("the large events were not stored")
                return
            }
        }
    }

    @Test func answersOwedToAPeerThatDoesNotReadStayWithinTheirBytes() async throws {
        let bound = 1 << 20
        let server = try await TestServer.start {
            $0.pendingResponseBytesPerConnection = bound
            $0.shutdownAnswerDeadline = .seconds(1)
        }
        try await Self.storeLargeEvents(40, on: server)
        // Each answer is a page of ten events, about 600 KB; the peer asks for 300 and reads none.
        let hoarder = try RawSocket(path: server.socketPath)
        hoarder.send(Self.frames(.queries, count: 300))
        var owed: Int64 = 0
        let probe = try RawSocket(path: server.socketPath)
        for _ in 0..<30 {
            try await Task.sleep(for: .milliseconds(100))
            owed = max(owed, try await LimitsTests.counter("answer_bytes_owed", probe) ?? 0)
        }
        #expect(owed > 0, "the hoarder is owed answers")
        #expect(owed <= Int64(bound), "past the bound the daemon stops reading, instead of holding more answers")
        // The hoarder never reads; shutdown closes it after its deadline instead of waiting for good.
        try await Self.stopWithin(60, server)
        withExtendedLifetime(hoarder) {}
    }

    /// A peer that has sent its last request and shut down its writing side is owed answers, but
    /// one that then reads none of them does not hold up shutdown either, though nothing of its
    /// connection is reading any more by then.
    @Test func aPeerThatHalfClosesAndReadsNothingDoesNotHoldUpShutdown() async throws {
        let server = try await TestServer.start { $0.shutdownAnswerDeadline = .seconds(1) }
        try await Self.storeLargeEvents(60, on: server)
        // Three pages of about 3.6 MB: far more than the kernel holds between the ends, few enough
        // that the daemon reads to the end of the stream.
        let hoarder = try RawSocket(path: server.socketPath)
        var wire = ByteBuffer()
        for requestID in UInt32(1)...3 { LedgerRequest.query(QueryRequest(limit: 60)).encode(requestID: requestID, into: &wire) }
        hoarder.send(Array(wire.readableBytesView))
        hoarder.shutdownWrite()
        try await Task.sleep(for: .milliseconds(500))
        try await Self.stopWithin(60, server)
        withExtendedLifetime(hoarder) {}
    }
}
