import Atomics
import Foundation
import LedgerProtocol
import LedgerServer
import LedgerTestSupport
import Logging
import NIOCore
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
            rows = try sqlite(file, "SELECT count(*) FROM ledger_events")
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
        try await server.stopAndRemove()
    }
}
