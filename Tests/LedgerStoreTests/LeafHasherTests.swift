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
        var hashed = LeafHasher.Hashed(after: frontier)
        for (event, sequence) in zip(events, sequences).sorted(by: { $0.1 < $1.1 }) {
            hashed.add(TreeLeaf.hash(event, sequence: sequence, canonical: true, scratch: &scratch), sequence: sequence, id: event.id)
        }
        return hashed
    }

    @Test func whatTheThreadHashesIsTheTreeGrownOneLeafAtATime() async {
        let hasher = LeafHasher()
        var frontier = TreeFrontier()
        for (size, start) in [(1, 0), (37, 1), (256, 38)] {
            let events = Self.events(size, from: start)
            let sequences = (0..<size).map { Int64(start + $0 + 1) }
            let hashed = hasher.start(events, leaves: Self.leaves(events), sequences: sequences, after: frontier).wait()
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
        let hashed = hasher.start(events, leaves: Self.leaves(events), sequences: sequences, after: TreeFrontier()).wait()
        #expect(hashed.records.map(\.sequence) == (0..<50).map { Int64(1_000 + $0) })
        #expect(hashed.frontier == Self.oneAtATime(events, sequences: sequences, after: TreeFrontier()).frontier)
        await hasher.shutdown()
    }

    /// A split commit's second half is hashed after its first, before the first's result is taken.
    @Test func leavesFollowingAnotherCommitsContinueItsTree() async {
        let hasher = LeafHasher()
        let events = Self.events(700)
        let leaves = Self.leaves(events)
        let first = hasher.start(
            Array(events[..<300]), leaves: Array(leaves[..<300]), sequences: (1...300).map { Int64($0) }, after: TreeFrontier())
        let second = hasher.start(
            Array(events[300...]), leaves: Array(leaves[300...]), sequences: (301...700).map { Int64($0) }, following: first)
        let whole = Self.oneAtATime(events, sequences: (1...700).map { Int64($0) }, after: TreeFrontier())
        #expect(second.wait().frontier == whole.frontier)
        #expect(first.wait().records + second.wait().records == whole.records)
        #expect(second.wait().start == first.wait().frontier)
        await hasher.shutdown()
    }

    /// Foreseen leaves are taken only for the commit they foresaw: every event stored, at the
    /// numbers foreseen, onto the tree they continue.
    @Test func foreseenLeavesFitOnlyTheCommitTheyForesaw() {
        let events = Self.events(4)
        var grown = TreeFrontier()
        grown.append(TreeHash.empty)
        let hashed = LeafHasher.hash(
            events, leaves: Self.leaves(events), sequences: [11, 12, 13, 14], after: TreeFrontier())
        #expect(hashed.fit(TreeFrontier(), storing: [11, 12, 13, 14]))
        #expect(hashed.fit(TreeFrontier(), storing: [13, 11, 14, 12]), "numbers given in another order")
        #expect(!hashed.fit(TreeFrontier(), storing: [11, nil, 13, 14]), "an id already stored")
        #expect(!hashed.fit(TreeFrontier(), storing: [11, 12, 13, 15]), "other numbers")
        #expect(!hashed.fit(TreeFrontier(), storing: [11, 12, 13]), "fewer events")
        #expect(!hashed.fit(grown, storing: [11, 12, 13, 14]), "a log that grew meanwhile")
    }

    /// A writer finishing its last commit as the store closes still gets its leaves.
    @Test func aHasherThatWasShutDownStillFinishesWhatItIsGiven() async {
        let hasher = LeafHasher()
        let events = Self.events(3)
        _ = hasher.start(events, leaves: Self.leaves(events), sequences: [1, 2, 3], after: TreeFrontier()).wait()
        await hasher.shutdown()
        let hashed = hasher.start(events, leaves: Self.leaves(events), sequences: [4, 5, 6], after: TreeFrontier()).wait()
        #expect(hashed.records.map(\.sequence) == [4, 5, 6])
    }

    /// Commits whose events were all stored (hashed beside the rows) and commits holding ids already
    /// stored or sent twice (hashed by the writer) make one tree that verifies, of the stored events
    /// only; on PostgreSQL the large ones are split between its two writers, the second half's leaves
    /// hashed after the first's.
    @Test(arguments: StoreKind.durable)
    func commitsStoredAsForeseenOrNotMakeOneTreeThatVerifies(kind: StoreKind) async throws {
        if kind == .postgres, TestPostgres.uri == nil, !TestPostgres.isRequired { return }
        let database = try await TestStore.make(kind)
        let store = try await database.open()
        let key = LogKey()
        try await store.openLog(key.publicKey)
        let events = Self.events(1_999)
        let commits: [[[LedgerEvent]]] = [
            // Every event new: on PostgreSQL a split commit.
            [Array(events[..<300]), Array(events[300..<600])],
            // An id already stored and one sent twice.
            [[events[7]] + Array(events[600..<800]) + [events[603]]],
            // A split commit whose second half holds an id already stored.
            [Array(events[800..<1_100]), [events[10]] + Array(events[1_100..<1_399])],
            // A split commit whose first half holds an id already stored: on PostgreSQL the second
            // half's leaves, put in on the frontier foreseen for the first's, are put in again after it.
            [[events[20]] + Array(events[1_399..<1_700]), Array(events[1_700..<1_999])],
        ]
        var stored = 0
        for commit in commits {
            let committed = try await store.commit(requests: commit, leaves: commit.map(Self.leaves))
            try await committed.waitUntilDurable()
            stored += committed.sequences.compactMap { $0 }.count
        }
        #expect(stored == 1_999)
        let state = try #require(try await store.treeState())
        #expect(state.size == 1_999)
        try await store.storeHead(
            try key.sign(size: state.size, root: state.root, timestamp: LedgerTimestamp(rawValue: 1_790_000_000_000_000)))
        let source = try #require(try await store.treeSource())
        let report = try await TreeVerifier(keys: [key.publicKey]).verify(source)
        #expect(report.verified, "\(report.problems) \(String(describing: report.firstBadLeaf))")
        #expect(report.eventsChecked == 1_999)
        await store.close()
    }
}
