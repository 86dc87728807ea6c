import Foundation
import LedgerProtocol
import LedgerTree
import NIOConcurrencyHelpers
import NIOCore
import NIOPosix

/// Finishes a commit's leaves and grows its log's tree over them on a thread of its own, while the
/// store's writer stores the commit's rows: the writer's thread, whose time every acknowledgement
/// waits for, then only takes a result that is usually ready.
///
/// The thread starts with the first commit of a log and stops with the store.
final class LeafHasher: Sendable {
    private let pool = NIOLockedValueBox<NIOThreadPool?>(nil)

    init() {}

    /// Starts hashing the leaves of events stored at `sequences`, in step with `leaves`; the events
    /// name their leaf records.
    func start(_ events: [LedgerEvent], leaves: [LeafPrefix], sequences: [Int64], after frontier: TreeFrontier) -> Hashing {
        self.run { Self.hash(events, leaves: leaves, sequences: sequences, after: frontier) }
    }

    /// Starts hashing leaves that follow those `previous` hashes (a split commit's second half after
    /// its first), on the same thread once `previous` is done.
    func start(_ events: [LedgerEvent], leaves: [LeafPrefix], sequences: [Int64], following previous: Hashing) -> Hashing {
        self.run { Self.hash(events, leaves: leaves, sequences: sequences, after: previous.wait().frontier) }
    }

    private func run(_ work: @escaping @Sendable () -> Hashed) -> Hashing {
        let hashing = Hashing()
        let pool = self.pool.withLockedValue { pool in
            if let pool { return pool }
            let started = NIOThreadPool(numberOfThreads: 1)
            started.start()
            pool = started
            return started
        }
        // Pure work: done even on a pool that is shutting down, so that no writer waits for it in vain.
        pool.submit { _ in hashing.finish(work()) }
        return hashing
    }

    /// The leaves' records, in commit order, and the frontier after them, hashed on the caller's thread.
    static func hash(_ events: [LedgerEvent], leaves: [LeafPrefix], sequences: [Int64], after frontier: TreeFrontier) -> Hashed {
        var scratch = ByteBuffer()
        return Self.hash(events, leaves: leaves, sequences: sequences.map { $0 }, after: frontier, scratch: &scratch)
    }

    /// The leaves of a commit's stored events (those with a number), hashed on the caller's thread:
    /// from `leaves` when there is one for each event, else from the events, whose metadata is canonical.
    static func hash(
        _ events: [LedgerEvent], leaves: [LeafPrefix], sequences: [Int64?], after frontier: TreeFrontier, scratch: inout ByteBuffer
    ) -> Hashed {
        var hashed = Hashed(after: frontier)
        hashed.records.reserveCapacity(events.count)
        for index in Self.commitOrder(events.indices.filter { sequences[$0] != nil }, by: sequences) {
            let sequence = sequences[index]!
            let hash =
                leaves.count == events.count
                ? leaves[index].hash(sequence: sequence) : TreeLeaf.hash(events[index], sequence: sequence, canonical: true, scratch: &scratch)
            hashed.add(hash, sequence: sequence, id: events[index].id)
        }
        return hashed
    }

    /// Leaves follow the numbers, which a store may give in another order than its events'.
    private static func commitOrder(_ indices: [Int], by numbers: [Int64?]) -> [Int] {
        if zip(indices, indices.dropFirst()).allSatisfy({ numbers[$0]! < numbers[$1]! }) { return indices }
        return indices.sorted { numbers[$0]! < numbers[$1]! }
    }

    func shutdown() async {
        try? await self.pool.withLockedValue { $0 }?.shutdownGracefully()
    }

    /// What a commit adds to its log: its leaves' records, in order, and the frontier after them.
    struct Hashed: Sendable {
        /// The frontier the leaves continue: a commit whose log has grown otherwise cannot use them.
        let start: TreeFrontier
        var records: [LeafRecord] = []
        var frontier: TreeFrontier

        init(after start: TreeFrontier) {
            self.start = start
            self.frontier = start
        }

        /// Whether these are the leaves of a commit that stored its events at `sequences` onto
        /// `frontier`: what was foreseen, and nothing else, happened.
        func fit(_ frontier: TreeFrontier, storing sequences: [Int64?]) -> Bool {
            self.start == frontier && self.foresaw(sequences)
        }

        /// Whether these are the leaves of a commit that stored its events at `sequences`, whatever
        /// the frontier they continue.
        func foresaw(_ sequences: [Int64?]) -> Bool {
            guard sequences.count == self.records.count else { return false }
            var stored: [Int64] = []
            stored.reserveCapacity(sequences.count)
            for sequence in sequences {
                guard let sequence else { return false }
                stored.append(sequence)
            }
            if !zip(stored, stored.dropFirst()).allSatisfy({ $0 < $1 }) { stored.sort() }
            return zip(stored, self.records).allSatisfy { $0 == $1.sequence }
        }

        /// The tree's next leaf, in commit order.
        mutating func add(_ hash: TreeHash, sequence: Int64, id: UUID) {
            self.frontier.append(hash)
            self.records.append(LeafRecord(sequence: sequence, id: id, hash: hash))
        }
    }

    /// One commit's leaves, being hashed.
    final class Hashing: @unchecked Sendable {
        // @unchecked: `hashed` is written once, under `done` as it turns true, and read only after.
        private let done = ConditionLock(value: false)
        private var hashed: Hashed?

        fileprivate func finish(_ hashed: Hashed) {
            self.done.lock()
            self.hashed = hashed
            self.done.unlock(withValue: true)
        }

        /// Waits for the hashing to end; it is CPU work of a few microseconds a leaf, with nothing to wait on.
        func wait() -> Hashed {
            self.done.lock(whenValue: true)
            defer { self.done.unlock() }
            return self.hashed!
        }
    }
}
