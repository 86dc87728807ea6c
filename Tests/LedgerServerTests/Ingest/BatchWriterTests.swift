import Atomics
import Foundation
import LedgerProtocol
import LedgerServer
import LedgerServerTestSupport
import LedgerTestSupport
import Logging
import NIOCore
import ServiceLifecycleTestKit
import Testing

@testable import LedgerStore

/// The batch writer against a real SQLite store whose log syncs a test can hold back: the next
/// batch commits while one is being synced, and acknowledgements wait for the sync, in order.
@Suite struct BatchWriterTests {
    static func acknowledgedEvent(_ requestID: UInt32) -> [UInt8] {
        var wire = ByteBuffer()
        let event = LedgerEvent(id: UUID(), eventType: "job_started", entityType: "job", entityID: "job-\(requestID)")
        LedgerRequest.logEvent(LogEvent(event: event, acknowledged: true)).encode(requestID: requestID, into: &wire)
        return Array(wire.readableBytesView)
    }

    /// A server whose store syncs its log through the gate returned with it.
    static func startServer() async throws -> (TestServer, SyncGate) {
        var gate: SyncGate?
        let server = try await TestServer.start(openStore: { path, logger in
            let opened = SyncGate(logPath: path + "-wal")
            gate = opened
            return try await SQLiteStore(
                path: path, migrations: nil, checkpoints: SQLiteCheckpointer.Policy(), logger: logger, sync: opened.sync)
        })
        return (server, try #require(gate))
    }

    @Test func theNextBatchCommitsWhileOneIsSyncedAndAcksWaitForTheirSync() async throws {
        let (server, syncs) = try await Self.startServer()
        let file = server.directory + "/ledger.sqlite"
        let client = try RawSocket(path: server.socketPath)

        syncs.set(shut: true)
        client.send(Self.acknowledgedEvent(1))
        #expect(await syncs.heldSync(), "no sync began")
        client.send(Self.acknowledgedEvent(2))
        // The second event is committed, in the file, while the first one's sync is still held.
        var rows = ""
        for _ in 0..<300 where rows != "2" {
            rows = try await sqlite(file, "SELECT count(*) FROM ledger_events")
            if rows != "2" { try await Task.sleep(for: .milliseconds(100)) }
        }
        #expect(rows == "2")
        #expect(server.stats.eventsCommitted.load(ordering: .relaxed) == 0, "counted before it was on disk")
        #expect(server.stats.batchesCommitted.load(ordering: .relaxed) == 0)
        #expect(server.stats.eventsInFlight.load(ordering: .relaxed) == 2, "both count as in flight until acknowledged")

        syncs.set(shut: false)
        let first = try #require(try await client.receive())
        let second = try #require(try await client.receive())
        #expect(first.requestID == 1)
        #expect(first.response == .ack(Ack(committed: 1)))
        #expect(second.requestID == 2)
        #expect(second.response == .ack(Ack(committed: 1)))
        #expect(server.stats.eventsCommitted.load(ordering: .relaxed) == 2)
        #expect(server.stats.eventsInFlight.load(ordering: .relaxed) == 0)
        try await server.stopAndRemove()
    }

    @Test func aFailedSyncAnswersItsRequestsWithAnError() async throws {
        let (server, syncs) = try await Self.startServer()
        let client = try RawSocket(path: server.socketPath)
        client.send(Self.acknowledgedEvent(1))
        #expect(try await client.receive()?.response == .ack(Ack(committed: 1)))

        syncs.set(failing: true)
        client.send(Self.acknowledgedEvent(2))
        let answer = try #require(try await client.receive())
        guard case .error(let error) = answer.response else {
            Issue.record("expected an error, got \(answer.response)")
            return
        }
        #expect(answer.requestID == 2)
        #expect(error.message.contains("cannot flush the SQLite log"))
        #expect(server.stats.eventsCommitted.load(ordering: .relaxed) == 1)
        #expect(server.stats.eventsFailed.load(ordering: .relaxed) == 1)
        #expect(server.stats.eventsInFlight.load(ordering: .relaxed) == 0)
        // The store now refuses every write until restart, and stats says so.
        #expect(server.stats.storeAvailable.load(ordering: .relaxed) == 0)
        client.send(Self.acknowledgedEvent(3))
        guard case .error = try #require(try await client.receive()).response else {
            Issue.record("a later write is refused too")
            return
        }
        #expect(server.stats.storeAvailable.load(ordering: .relaxed) == 0)
        try await server.stopAndRemove()
    }
}

/// A group commit joins clients that know nothing of each other: an event the store refuses for
/// its data is refused to its sender alone, and every other request of its batch is stored.
@Suite struct BatchWriterRefusalTests {
    /// An event that no validation stopped (it is queued directly) and that the store refuses:
    /// SQLite's CHECK on event_type's length, PostgreSQL's numeric range in jsonb.
    static func poison(for kind: StoreKind) -> LedgerEvent {
        LedgerEvent(
            id: UUID(), timestamp: LedgerTimestamp(rawValue: 1_700_000_000_000_000),
            eventType: kind == .sqlite ? String(repeating: "x", count: 101) : "clip_created", entityType: "clip", entityID: "poison",
            metadata: kind == .postgres ? #"{"n":1e999999}"# : "{}")
    }

    @Test(arguments: StoreKind.durable)
    func aRequestTheStoreRefusesIsRefusedAloneAndTheRestOfItsBatchIsStored(kind: StoreKind) async throws {
        if kind == .postgres, TestPostgres.uri == nil, !TestPostgres.isRequired { return }
        let database = try await TestStore.make(kind)
        let store = try await database.open()
        var logger = Logger(label: "test-writer")
        logger.logLevel = .critical
        let queue = IngestQueue(capacity: 100_000)
        let stats = ServerStats()
        // Everything is queued before the writer starts, so that it all goes into one batch; 600 events
        // are enough for PostgreSQL to split the batch between its two writers.
        var tickets: [(CommitTicket, poisoned: Bool)] = []
        var good = 0
        for index in 0..<60 {
            let poisoned = index == 17 || index == 42
            let events =
                poisoned
                ? [Self.poison(for: kind)]
                : (0..<10).map { LedgerEvent(id: UUID(), eventType: "job_created", entityType: "job", entityID: "j-\(index)-\($0)") }
            // Half the good requests are fire-and-forget: they have nobody to tell, and must be stored all the same.
            let ticket = poisoned || index % 2 == 0 ? CommitTicket() : nil
            try await queue.submit(events.map { var event = $0; event.timestamp = event.timestamp ?? LedgerTimestamp(rawValue: 1); return event }, completion: ticket)
            if let ticket { tickets.append((ticket, poisoned)) }
            if !poisoned { good += events.count }
        }
        let writer = BatchWriter(queue: queue, store: store, stats: stats, batchSize: 10_000, delay: .zero, logger: logger)
        let running = Task { try await writer.run() }
        var refused = 0
        let settled = try await withDeadline(seconds: 120) { [tickets] in
            var refused = 0
            for (ticket, _) in tickets {
                do { try await ticket.wait() } catch { refused += 1 }
            }
            return refused
        }
        refused = try #require(settled, "not every request was answered")
        #expect(refused == 2)
        #expect(tickets.filter(\.poisoned).allSatisfy { $0.0.settled.map { (try? $0.get()) == nil } == true }, "the refused ones are the poisoned")
        // Outside a service group the writer is stopped by cancelling it; it still drains what was queued.
        running.cancel()
        _ = try? await running.value
        #expect(try await store.count(EventFilter()) == UInt64(good))
        #expect(stats.eventsFailed.load(ordering: .relaxed) == 2, "only the refused events count as failed")
        #expect(stats.eventsCommitted.load(ordering: .relaxed) == Int64(good))
        #expect(stats.eventsInFlight.load(ordering: .relaxed) == 0)
        await store.close()
        withExtendedLifetime(database) {}
    }

    /// On graceful shutdown, as a service group gives it, the writer closes the queue to new events
    /// and returns only once everything already queued is committed and answered.
    @Test func gracefulShutdownCommitsWhatWasQueuedAndRefusesMore() async throws {
        let store = MemoryStore(capacity: 10_000)
        var logger = Logger(label: "test-writer")
        logger.logLevel = .critical
        let queue = IngestQueue(capacity: 10_000)
        let writer = BatchWriter(queue: queue, store: store, stats: ServerStats(), batchSize: 100, delay: .zero, logger: logger)
        let tickets = (0..<20).map { _ in CommitTicket() }
        try await testGracefulShutdown { trigger in
            try await withThrowingTaskGroup(of: Void.self) { group in
                for ticket in tickets {
                    let events = (0..<50).map { LedgerEvent(id: UUID(), timestamp: LedgerTimestamp(rawValue: 1), eventType: "job_created", entityType: "job", entityID: "j-\($0)") }
                    try await queue.submit(events, completion: ticket)
                }
                group.addTask { try await writer.run() }
                trigger.triggerGracefulShutdown()
                try await group.waitForAll()
            }
        }
        for ticket in tickets { try await ticket.wait() }
        #expect(try await store.count(EventFilter()) == 1_000)
        let refused = await #expect(throws: LedgerProtocolError.self) {
            try await queue.submit([LedgerEvent(id: UUID(), eventType: "late", entityType: "job", entityID: "j")], completion: nil)
        }
        #expect(refused?.code == .shuttingDown)
    }
}
