import Foundation
import LedgerProtocol
import LedgerTestSupport
import Logging
import Testing

@testable import LedgerStore

/// A commit is acknowledged, and shown to readers, only after a sync of the log file that began
/// after it; one sync serves every commit before it; a failed sync stops the store taking writes.
///
/// The syncs are the real `fdatasync` of the real log file, passed through a gate the test can
/// hold shut and a count of what was synced.
@Suite struct SQLiteLogFlusherTests {
    /// A store whose log syncs pass through the gate returned with it.
    static func openStore(in directory: TemporaryDirectory) async throws -> (SyncGate, SQLiteStore) {
        let gate = SyncGate(logPath: directory.file("ledger.sqlite-wal"))
        return (gate, try await Self.reopen(directory, gate: gate))
    }

    static func reopen(_ directory: TemporaryDirectory, gate: SyncGate) async throws -> SQLiteStore {
        try await SQLiteStore(
            path: directory.file("ledger.sqlite"), migrations: nil, checkpoints: SQLiteCheckpointer.Policy(), logger: Logger(label: "test"),
            sync: gate.sync)
    }

    static func event(_ index: Int) -> LedgerEvent {
        LedgerEvent(
            id: UUID(), timestamp: LedgerTimestamp(rawValue: Int64(1_000 + index)), eventType: "job_started", entityType: "job",
            entityID: "job-\(index)")
    }

    static let everything = QueryRequest(filter: EventFilter(), order: .oldestFirst, limit: 100)

    @Test func aCommitIsShownAndAcknowledgedOnlyOnceALaterSyncEnds() async throws {
        let directory = try TemporaryDirectory("store")
        let (gate, store) = try await Self.openStore(in: directory)
        let event = Self.event(1)

        let commit = try await store.commit(requests: [[event]])
        #expect(commit.sequences == [1])
        // Committed in the file, but nothing has synced it yet.
        #expect(try await store.query(Self.everything).events.isEmpty)
        #expect(try await store.count(EventFilter()) == 0)
        #expect(try await store.events(afterSequence: 0, matching: EventFilter(), limit: 10).isEmpty)

        gate.set(shut: true)
        let durable = Task { try await commit.waitUntilDurable() }
        #expect(await gate.heldSync(), "no sync began")
        #expect(try await store.query(Self.everything).events.isEmpty, "shown while its sync is still running")
        gate.set(shut: false)
        try await durable.value

        #expect(try await store.query(Self.everything).events.map(\.id) == [event.id])
        #expect(try await store.count(EventFilter()) == 1)
        #expect(try await store.events(afterSequence: 0, matching: EventFilter(), limit: 10).map(\.sequence) == [1])
        #expect(gate.counts.ofOtherFiles == 0)
        await store.close()

        // Reopened, what is in the file is shown from the start.
        let reopened = try await Self.reopen(directory, gate: gate)
        #expect(try await reopened.count(EventFilter()) == 1)
        await reopened.close()
    }

    @Test func insertReturnsAfterASyncOfItsCommit() async throws {
        let directory = try TemporaryDirectory("store")
        let (gate, store) = try await Self.openStore(in: directory)
        for index in 0..<3 {
            let before = gate.counts.syncs
            _ = try await store.insert([Self.event(index)])
            #expect(gate.counts.syncs == before + 1)
        }
        // A retried event is stored once, and its acknowledgement still waits for a sync.
        let event = Self.event(9)
        let first = try await store.commit(requests: [[event]])
        let before = gate.counts.syncs
        #expect(try await store.insert([event]) == [nil])
        #expect(gate.counts.syncs == before + 1)
        try await first.waitUntilDurable()
        #expect(gate.counts.syncs == before + 1, "the retry's sync covered the first commit too")
        #expect(gate.counts.ofOtherFiles == 0)
        await store.close()
    }

    @Test func oneSyncServesEveryCommitBeforeIt() async throws {
        let directory = try TemporaryDirectory("store")
        let (gate, store) = try await Self.openStore(in: directory)
        var commits: [StoreCommit] = []
        for index in 0..<5 {
            commits.append(try await store.commit(requests: [[Self.event(index)]]))
        }
        let before = gate.counts.syncs
        try await commits.last!.waitUntilDurable()
        for commit in commits {
            try await commit.waitUntilDurable()
        }
        #expect(gate.counts.syncs == before + 1)
        #expect(try await store.count(EventFilter()) == 5)
        let counters = Dictionary(uniqueKeysWithValues: store.counters.map { ($0.name, $0.value) })
        #expect(counters["sqlite_commits"] == 5)
        #expect(counters["sqlite_log_syncs"] == 1)
        await store.close()
    }

    @Test func aFailedSyncFailsItsCommitAndRefusesLaterWrites() async throws {
        let directory = try TemporaryDirectory("store")
        let (gate, store) = try await Self.openStore(in: directory)
        _ = try await store.insert([Self.event(0)])

        gate.set(failing: true)
        let failed = await #expect(throws: StoreError.self) { try await store.insert([Self.event(1)]) }
        #expect(failed?.code == .writeFailed)
        #expect(failed?.message.contains("cannot flush the SQLite log") == true)
        #expect(failed?.message.contains("Input/output error") == true)

        // Even once syncs would work again: what the failed sync left unwritten cannot be known.
        gate.set(failing: false)
        let refused = await #expect(throws: StoreError.self) { try await store.insert([Self.event(2)]) }
        #expect(refused?.code == .writeFailed)
        #expect(try await store.count(EventFilter()) == 1)
        await store.close()
    }
}
