import LedgerProtocol
import LedgerTree

/// A large batch committed by both writer connections at once: each copies half, and the halves
/// commit in order, the second only after the first, so the commit sequence never has a hole
/// that a reader could see filled later.
extension PostgresStore {
    /// A batch of at least this many events, over two requests or more, is split between the two
    /// writers. Batches of about 250 (one event per frame, 512 awaiting acks) gained nothing from it
    /// and cost the daemon more CPU; batches of 1,500 and more gained 40% (BENCHMARKS.md).
    static let splitEvents = 512

    static func shareAnID(_ first: [LedgerEvent], _ second: [LedgerEvent]) -> Bool {
        let ids = Set(first.lazy.map(\.id))
        return second.contains { ids.contains($0.id) }
    }

    /// Where to cut the requests so that each side gets about half the events, keeping every request
    /// whole; nil when one request holds most of them.
    static func halfway(_ requests: [[LedgerEvent]], total: Int) -> Int? {
        var count = 0
        for (index, request) in requests.enumerated() {
            count += request.count
            if count * 2 >= total {
                return index + 1 < requests.count ? index + 1 : nil
            }
        }
        return nil
    }

    /// Copies the two halves at once, one on each writer, and commits the first half, then the second.
    /// - Parameter leaves: each half's `LeafPrefix`es, in step with its events, or none.
    func insertSplit(
        _ first: [LedgerEvent], _ second: [LedgerEvent], leaves: (first: [LeafPrefix], second: [LeafPrefix])
    ) async throws(StoreError) -> [Int64?] {
        let pair = PostgresCopyPair()
        let tree = self.logTree
        let (firstResult, secondResult) = await withCheckedContinuation { continuation in
            let results = PairOfResults<[Int64?], [Int64?]>(continuation)
            self.pairing.withLock {
                self.writer.start({ (connection: PostgresConnection) throws(StoreError) in
                    try Self.copyFirstHalf(first, leaves: leaves.first, secondCount: second.count, pair: pair, tree: tree, on: connection)
                }, done: { result in
                    // Also when the job never ran: the second half must not wait for it.
                    if case .failure(let error) = result { pair.firstFailed(error) }
                    results.setFirst(result)
                })
                self.secondWriter.start({ (connection: PostgresConnection) throws(StoreError) in
                    try Self.copySecondHalf(second, leaves: leaves.second, pair: pair, tree: tree, on: connection)
                }, done: { result in
                    pair.secondCopied(result.map { _ in () })
                    results.setSecond(result)
                })
            }
        }
        return try firstResult.get() + secondResult.get()
    }

    /// Takes the commit numbers of both halves, copies the first, and commits once the second is copied.
    /// With a log, it holds the log's lock for both halves and hands its frontier to the second.
    static func copyFirstHalf(
        _ events: [LedgerEvent], leaves: [LeafPrefix], secondCount: Int, pair: PostgresCopyPair, tree: PostgresLogTree?,
        on connection: PostgresConnection
    ) throws(StoreError) -> [Int64?] {
        do {
            try connection.reconnectIfBroken()
            try connection.execute("BEGIN", as: .writeFailed)
            let numbers = try Self.reserveNumbers(events.count + secondCount, locking: tree, on: connection)
            let firstNumbers = Array(numbers[..<events.count])
            // Hashed while PostgreSQL takes the rows, as though the copy stores them all, and the second half's after these.
            let before = try tree.map { tree throws(StoreError) in try tree.frontier(on: connection) }
            let foreseen = before.flatMap { tree?.foresee(events, leaves: leaves, sequences: firstNumbers, after: $0) }
            pair.publishSecondNumbers(
                .success(PostgresCopyPair.SecondNumbers(numbers: Array(numbers[events.count...]), firstLeaves: foreseen)))
            let stored = try Self.copyOrInsert(events, sequences: firstNumbers, tree: tree, on: connection)
            var after: TreeFrontier?
            if let tree, let before {
                // A fresh transaction after a copy that failed took the lock, and read the frontier, again.
                let start = stored.frontier ?? before
                let frontier = try tree.append(
                    events, leaves: leaves, sequences: stored.numbers, after: start, foreseen: foreseen, on: connection)
                pair.publishFirstTree(.success(frontier))
                after = frontier
            }
            try pair.waitForSecondCopy().get()
            try connection.execute("COMMIT", as: .writeFailed)
            // Before the second half may commit, so that its frontier is the one kept last.
            if let tree, let after { tree.committed(after) }
            pair.firstCommitted(.success(()))
            return stored.numbers
        } catch {
            _ = try? connection.execute("ROLLBACK", as: .writeFailed)
            tree?.forget()
            pair.firstFailed(error)
            throw error
        }
    }

    /// Copies the second half with the numbers the first took, and commits only after the first did;
    /// its leaves follow the first half's, under the lock the first half holds.
    static func copySecondHalf(
        _ events: [LedgerEvent], leaves: [LeafPrefix], pair: PostgresCopyPair, tree: PostgresLogTree?, on connection: PostgresConnection
    ) throws(StoreError) -> [Int64?] {
        let given = try pair.waitForSecondNumbers().get()
        let numbers = given.numbers
        let foreseen = given.firstLeaves.flatMap { tree?.foresee(events, leaves: leaves, sequences: numbers, following: $0) }
        do {
            try connection.reconnectIfBroken()
            try connection.execute("BEGIN", as: .writeFailed)
            let sequences = try Self.copyOrInsert(events, sequences: numbers, tree: nil, on: connection).numbers
            var after: TreeFrontier?
            // Its rows are in: the first half may commit while this half's leaves go in.
            pair.secondCopied(.success(()))
            if let tree {
                after = try tree.append(
                    events, leaves: leaves, sequences: sequences, following: { () throws(StoreError) in try pair.waitForFirstTree().get() },
                    foreseen: foreseen, on: connection)
            }
            try pair.waitForFirstCommit().get()
            try connection.execute("COMMIT", as: .writeFailed)
            if let tree, let after { tree.committed(after) }
            return sequences
        } catch {
            _ = try? connection.execute("ROLLBACK", as: .writeFailed)
            tree?.forget()
            pair.secondCopied(.failure(error))
            throw error
        }
    }

    /// What one half stored: each event's commit number (nil for an id already stored), and, when
    /// the fresh transaction took the log's lock again, the frontier it read under it.
    struct HalfStored {
        var numbers: [Int64?]
        var frontier: TreeFrontier?
    }

    /// In the open transaction: the rows by COPY or, when an id is already stored, through the
    /// statement that skips stored ids, in a fresh transaction with the same numbers (which takes
    /// `tree`'s lock again, as the first half's transaction holds it).
    private static func copyOrInsert(
        _ events: [LedgerEvent], sequences: [Int64], tree: PostgresLogTree?, on connection: PostgresConnection
    ) throws(StoreError) -> HalfStored {
        do throws(StoreError) {
            try Self.copyRows(events, sequences: sequences, on: connection)
            return HalfStored(numbers: sequences, frontier: nil)
        } catch where error.backendCode == Self.uniqueViolation {
            try connection.execute("ROLLBACK", as: .writeFailed)
            try connection.execute("BEGIN", as: .writeFailed)
            let frontier = try tree?.lock(on: connection)
            return HalfStored(numbers: try Self.insertRows(events, sequences: sequences, on: connection), frontier: frontier)
        }
    }

    /// The next `count` commit numbers; taken outside any transaction's undo, so they ascend in the
    /// order taken. With a log, its lock is taken first, in the same statement, so that the log's
    /// leaves follow their numbers whatever other daemon shares the key.
    static func reserveNumbers(_ count: Int, locking tree: PostgresLogTree? = nil, on connection: PostgresConnection) throws(StoreError) -> [Int64] {
        // The projection, and so each nextval, runs only once the join has a row, which needs the lock.
        let numbers = try connection.executePrepared(
            tree == nil
                ? "SELECT nextval('ledger_events_seq') FROM generate_series(1, $1::integer)"
                : "SELECT nextval('ledger_events_seq') FROM (SELECT pg_advisory_xact_lock($2::bigint)) AS log_lock, generate_series(1, $1::integer)",
            [String(count)] + (tree.map { [$0.lockKey] } ?? []), as: .writeFailed)
        let sequences = (0..<numbers.rowCount).compactMap { numbers.text($0, 0).flatMap { Int64($0) } }
        guard sequences.count == count else {
            throw StoreError(code: .writeFailed, message: "PostgreSQL gave \(sequences.count) sequence numbers for \(count) events")
        }
        return sequences
    }
}
