import Foundation
import LedgerProtocol
import LedgerTestSupport
import LedgerTree
import NIOCore
import Testing

@testable import LedgerStore

/// A commit's leaves are hashed on a thread beside the writer's, foreseeing where its events will
/// be stored: what that thread gives must be the tree the leaves make one at a time, and a commit
/// whose events were not all stored as foreseen must still add exactly its stored events.
@Suite struct LeafHasherTests {
    static func events(_ count: Int, from start: Int = 0) -> [LedgerEvent] {
        (start..<start + count).map(Self.event)
    }

    /// As the daemon's ingest queue hands it to the store: its metadata canonical.
    static func event(_ index: Int) -> LedgerEvent {
        let metadata = index % 2 == 0 ? "{ \"n\" : \(index) }" : ""
        var event = LedgerEvent(
            id: UUID.ledgerV7(unixMilliseconds: 1_790_000_000_000 + UInt64(index)),
            timestamp: LedgerTimestamp(rawValue: 1_790_000_000_000_000 + Int64(index)), eventType: "job_created", entityType: "job",
            entityID: "j-\(index)", metadata: metadata, severity: .info, workerID: nil, jobID: nil,
            peer: PeerCredentials(uid: 1000, pid: Int32(index)))
        event.canonicalizeMetadata()
        return event
    }

    static func leaves(_ events: [LedgerEvent]) -> [LeafPrefix] {
        var scratch = ByteBuffer()
        return events.map { LeafPrefix($0, canonical: true, scratch: &scratch) }
    }

    /// The tree grown one leaf at a time, each leaf hashed whole, in commit order.
    static func oneAtATime(_ events: [LedgerEvent], sequences: [Int64], after frontier: TreeFrontier) -> LeafHasher.Hashed {
        var scratch = ByteBuffer()
        var hashed = LeafHasher.Hashed(records: [], frontier: frontier)
        for (event, sequence) in zip(events, sequences).sorted(by: { $0.1 < $1.1 }) {
            let hash = TreeLeaf.hash(event, sequence: sequence, canonical: true, scratch: &scratch)
            hashed.frontier.append(hash)
            hashed.records.append(LeafRecord(sequence: sequence, id: event.id, hash: hash))
        }
        return hashed
    }

    @Test func whatTheThreadHashesIsTheTreeGrownOneLeafAtATime() async {
        let hasher = LeafHasher()
        var frontier = TreeFrontier()
        for (size, start) in [(1, 0), (37, 1), (256, 38)] {
            let events = Self.events(size, from: start)
            let sequences = (0..<size).map { Int64(start + $0 + 1) }
            let hashed = hasher.start(leaves: Self.leaves(events), ids: events.map(\.id), sequences: sequences, after: frontier).wait()
            let expected = Self.oneAtATime(events, sequences: sequences, after: frontier)
            #expect(hashed.records == expected.records)
            #expect(hashed.frontier == expected.frontier)
            frontier = hashed.frontier
        }
        #expect(frontier.size == 294)
        await hasher.shutdown()
    }

    /// PostgreSQL gives a statement's numbers in no promised order: the leaves follow the numbers.
    @Test func leavesFollowTheirNumbersWhateverTheEventsOrder() async {
        let hasher = LeafHasher()
        let events = Self.events(50)
        let sequences = (0..<50).map { Int64(1_000 + ($0 * 17) % 50) }
        let hashed = hasher.start(leaves: Self.leaves(events), ids: events.map(\.id), sequences: sequences, after: TreeFrontier()).wait()
        #expect(hashed.records.map(\.sequence) == (0..<50).map { Int64(1_000 + $0) })
        #expect(hashed.frontier == Self.oneAtATime(events, sequences: sequences, after: TreeFrontier()).frontier)
        await hasher.shutdown()
    }

    /// A writer finishing its last commit as the store closes still gets its leaves.
    @Test func aHasherThatWasShutDownStillFinishesWhatItIsGiven() async {
        let hasher = LeafHasher()
        let events = Self.events(3)
        _ = hasher.start(leaves: Self.leaves(events), ids: events.map(\.id), sequences: [1, 2, 3], after: TreeFrontier()).wait()
        await hasher.shutdown()
        let hashed = hasher.start(leaves: Self.leaves(events), ids: events.map(\.id), sequences: [4, 5, 6], after: TreeFrontier()).wait()
        #expect(hashed.records.map(\.sequence) == [4, 5, 6])
    }

    /// Commits whose events were all stored (hashed beside the rows) and commits holding ids already
    /// stored or sent twice (hashed by the writer) make one tree that verifies, of the stored events only.
    @Test(arguments: StoreKind.durable)
    func commitsStoredAsForeseenOrNotMakeOneTreeThatVerifies(kind: StoreKind) async throws {
        if kind == .postgres, TestPostgres.uri == nil, !TestPostgres.isRequired { return }
        let database = try await TestStore.make(kind)
        let store = try await database.open()
        let key = LogKey()
        try await store.openLog(key.publicKey)
        let first = Self.events(300)
        let second = Self.events(200, from: 300)
        // The second commit repeats a stored id and sends one of its own twice.
        let repeated = [first[7]] + second + [second[3]]
        let requests: [[[LedgerEvent]]] = [[Array(first[..<120]), Array(first[120...])], [repeated]]
        var stored = 0
        for commit in requests {
            let committed = try await store.commit(requests: commit, leaves: commit.map(Self.leaves))
            try await committed.waitUntilDurable()
            stored += committed.sequences.compactMap { $0 }.count
        }
        #expect(stored == 500)
        let state = try #require(try await store.treeState())
        #expect(state.size == 500)
        try await store.storeHead(try key.sign(size: state.size, root: state.root, timestamp: LedgerTimestamp(rawValue: 1_790_000_000_000_000)))
        let source = try #require(try await store.treeSource())
        let report = try await TreeVerifier(keys: [key.publicKey]).verify(source)
        #expect(report.verified, "\(report.problems) \(String(describing: report.firstBadLeaf))")
        #expect(report.eventsChecked == 500)
        await store.close()
    }
}
