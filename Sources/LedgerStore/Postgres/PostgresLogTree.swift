import LedgerProtocol
import LedgerTree
import Logging
import NIOConcurrencyHelpers
import NIOCore

/// The writer's side of its log's tree on PostgreSQL (migration 6): the statements that keep the
/// tree's rows in step with each commit, inside its transaction, under the log's advisory lock.
///
/// The frontier after the last commit is kept only while every commit is known to have landed:
/// after any failure (a commit whose outcome the client never learned, the connection breaking
/// during COMMIT, included) the next commit reads the log's newest row again, under the lock.
final class PostgresLogTree: Sendable {
    let logID: [UInt8]
    let publicKey: [UInt8]
    /// The log's transaction advisory lock: its id's first eight bytes, as PostgreSQL's bigint.
    let lockKey: String
    private let known = NIOLockedValueBox<TreeFrontier?>(nil)
    private let hasher: LeafHasher

    init(key: LogPublicKey, hasher: LeafHasher) {
        self.hasher = hasher
        self.logID = key.logID.bytes
        self.publicKey = key.raw
        self.lockKey = String(self.logID.prefix(8).reduce(Int64(0)) { $0 << 8 | Int64($1) })
    }

    /// Beside the migrator's key ("ledger" in ASCII codes) and retention's, "adopt".
    static let adoptionLockKey = "97100111112116"

    /// Makes the log's row the first time the key is used with this database, adopts the events
    /// stored before any log began when it is the first log, and checks that its newest frontier
    /// can be continued. Returns how many events it adopted.
    func open(on connection: PostgresConnection, logger: Logger) throws(StoreError) -> UInt64 {
        _ = try connection.execute(
            "INSERT INTO ledger_tree (log_id, public_key) VALUES (decode($1, 'hex'), decode($2, 'hex')) ON CONFLICT DO NOTHING",
            [HexText.text(self.logID), HexText.text(self.publicKey)], as: .unavailable)
        let adopted = try self.adoptEarlierEvents(on: connection, logger: logger)
        _ = try self.newestFrontier(on: connection, as: .unavailable)
        return adopted
    }

    /// When no log has a leaf yet, the events stored before any log began become this log's first
    /// leaves (`LogAdoption`), in one transaction. Daemons starting together on one database take
    /// turns under a lock, and each looks only once the one before has committed, so that one log
    /// adopts them; the transaction reads one snapshot, so that events another log commits meanwhile
    /// stay that log's.
    private func adoptEarlierEvents(on connection: PostgresConnection, logger: Logger) throws(StoreError) -> UInt64 {
        let lock = PostgresSessionLock(key: Self.adoptionLockKey, purpose: "adopting the events stored before any log")
        try lock.acquire(on: connection, logger: logger, as: .unavailable)
        defer { lock.release(on: connection, as: .unavailable) }
        try connection.execute("BEGIN ISOLATION LEVEL REPEATABLE READ", as: .unavailable)
        do throws(StoreError) {
            let begun = try connection.execute("SELECT EXISTS (SELECT 1 FROM ledger_tree_leaves)", as: .unavailable)
            guard begun.text(0, 0) == "f" else {
                try connection.execute("COMMIT", as: .unavailable)
                return 0
            }
            _ = try connection.execute("SELECT pg_advisory_xact_lock($1::bigint)", [self.lockKey], as: .unavailable)
            var adoption = LogAdoption(metadataIsStoredText: false)
            var adopted: UInt64 = 0
            while let first = adoption.nextRead {
                let page = try connection.execute(
                    PostgresTreeReader.eventsFromSequence, [String(first), String(LogAdoption.pageSize)], as: .unavailable)
                var events: [LedgerEvent] = []
                events.reserveCapacity(page.rowCount)
                for row in 0..<page.rowCount { events.append(try EventColumns.event(from: PostgresRow(result: page, row: row))) }
                guard let hashed = try adoption.adopt(events) else { break }
                try self.insert(hashed, after: hashed.start, on: connection)
                adopted += UInt64(hashed.records.count)
            }
            try connection.execute("COMMIT", as: .unavailable)
            return adopted
        } catch {
            _ = try? connection.execute("ROLLBACK", as: .unavailable)
            throw LogAdoption.failed(error)
        }
    }

    /// In the open transaction, before it takes commit numbers: waits for any other commit to this
    /// log, then gives the frontier to continue from.
    func lock(on connection: PostgresConnection) throws(StoreError) -> TreeFrontier {
        _ = try connection.execute("SELECT pg_advisory_xact_lock($1::bigint)", [self.lockKey], as: .writeFailed)
        return try self.frontier(on: connection)
    }

    /// The frontier to continue from, once the open transaction holds the log's lock.
    func frontier(on connection: PostgresConnection) throws(StoreError) -> TreeFrontier {
        if let known = self.known.withLockedValue({ $0 }) { return known }
        return try self.newestFrontier(on: connection, as: .writeFailed)
    }

    /// A commit holding leaves landed: the next continues from `frontier` without reading it back.
    func committed(_ frontier: TreeFrontier) {
        self.known.withLockedValue { $0 = frontier }
    }

    /// A commit failed, or its outcome is not known: the next reads the log's newest row.
    func forget() {
        self.known.withLockedValue { $0 = nil }
    }

    private func newestFrontier(on connection: PostgresConnection, as code: StoreError.Code) throws(StoreError) -> TreeFrontier {
        let result = try connection.execute(
            "SELECT encode(frontier, 'hex') FROM ledger_tree_leaves WHERE log_id = decode($1, 'hex') ORDER BY first_leaf DESC LIMIT 1",
            [HexText.text(self.logID)], as: code)
        guard result.rowCount == 1 else { return TreeFrontier() }
        guard let frontier = result.text(0, 0).flatMap({ HexText.bytes($0) }).flatMap({ TreeFrontier(bytes: $0) }) else {
            throw StoreError(
                code: code,
                message: "the newest frontier of log \(HexText.text(self.logID)) in ledger_tree_leaves is damaged; the tree cannot be continued (ledger-rpc verify --store says what else changed)")
        }
        return frontier
    }

    /// Starts hashing the leaves of events to be stored at `sequences`, beside the rows going in,
    /// after `frontier`: nil without a leaf for each event, which `append` then hashes itself.
    func foresee(_ events: [LedgerEvent], leaves: [LeafPrefix], sequences: [Int64], after frontier: TreeFrontier) -> LeafHasher.Hashing? {
        guard Self.hashable(events, leaves: leaves, sequences: sequences) else { return nil }
        return self.hasher.start(events, leaves: leaves, sequences: sequences, after: frontier)
    }

    /// As `foresee(_:leaves:sequences:after:)`, after the leaves `previous` hashes (a split commit's first half).
    func foresee(
        _ events: [LedgerEvent], leaves: [LeafPrefix], sequences: [Int64], following previous: LeafHasher.Hashing
    ) -> LeafHasher.Hashing? {
        guard Self.hashable(events, leaves: leaves, sequences: sequences) else { return nil }
        return self.hasher.start(events, leaves: leaves, sequences: sequences, following: previous)
    }

    private static func hashable(_ events: [LedgerEvent], leaves: [LeafPrefix], sequences: [Int64]) -> Bool {
        !events.isEmpty && leaves.count == events.count && sequences.count == events.count
    }

    /// In the open transaction: the stored events (those with a commit number) as the log's next
    /// leaves, in commit order, after `frontier`; returns the frontier after them.
    /// - Parameters:
    ///   - leaves: each event's `LeafPrefix`, in step with `events`, or none.
    ///   - foreseen: the same leaves hashed by `foresee`, taken when every event was stored and they continue `frontier`.
    func append(
        _ events: [LedgerEvent], leaves: [LeafPrefix], sequences: [Int64?], after frontier: TreeFrontier,
        foreseen: LeafHasher.Hashing? = nil, on connection: PostgresConnection
    ) throws(StoreError) -> TreeFrontier {
        let added: LeafHasher.Hashed
        if let hashed = foreseen?.wait(), hashed.fit(frontier, storing: sequences) {
            added = hashed
        } else {
            // PostgreSQL numbers the rows of one INSERT in no promised order; the leaves follow the numbers.
            var scratch = ByteBuffer()
            added = LeafHasher.hash(events, leaves: leaves, sequences: sequences, after: frontier, scratch: &scratch)
        }
        guard !added.records.isEmpty else { return frontier }
        try self.insert(added, after: frontier, on: connection)
        return added.frontier
    }

    /// In a split commit's second half, its rows in: its leaves go in on the frontier the first half's
    /// were foreseen to reach, while the first half's own row goes in, rather than after it; once the
    /// first half's frontier is known, a row that foresaw it wrong is replaced.
    /// - Parameter first: the log's frontier after the first half's leaves, waited for.
    func append(
        _ events: [LedgerEvent], leaves: [LeafPrefix], sequences: [Int64?], following first: () throws(StoreError) -> TreeFrontier,
        foreseen: LeafHasher.Hashing?, on connection: PostgresConnection
    ) throws(StoreError) -> TreeFrontier {
        guard let hashed = foreseen?.wait(), hashed.foresaw(sequences) else {
            return try self.append(events, leaves: leaves, sequences: sequences, after: try first(), foreseen: foreseen, on: connection)
        }
        try self.insert(hashed, after: hashed.start, on: connection)
        let frontier = try first()
        if frontier == hashed.start { return hashed.frontier }
        // The first half stored other than foreseen (an id already stored), so its leaves end elsewhere.
        _ = try connection.executePrepared(
            "DELETE FROM ledger_tree_leaves WHERE log_id = $1::bytea AND first_leaf = $2::bigint",
            [.bytes(self.logID), .text(String(hashed.start.size))], as: .writeFailed)
        return try self.append(events, leaves: leaves, sequences: sequences, after: frontier, on: connection)
    }

    /// The commit's row of leaf records, taking the tree from `frontier` to the one after them.
    private func insert(_ added: LeafHasher.Hashed, after frontier: TreeFrontier, on connection: PostgresConnection) throws(StoreError) {
        let records = added.records
        _ = try connection.executePrepared(
            """
            INSERT INTO ledger_tree_leaves (log_id, first_leaf, first_seq, last_seq, records, frontier)
            VALUES ($1::bytea, $2::bigint, $3::bigint, $4::bigint, $5::bytea, $6::bytea)
            """,
            [
                .bytes(self.logID), .text(String(frontier.size)), .text(String(records[0].sequence)),
                .text(String(records[records.count - 1].sequence)), .bytes(LeafRecord.encode(records)), .bytes(added.frontier.bytes),
            ], as: .writeFailed)
    }

    /// The log's tree as of its newest commit, which PostgreSQL has made durable by the time it is visible.
    func state(on connection: PostgresConnection) throws(StoreError) -> LogTreeState {
        let frontier = try self.newestFrontier(on: connection, as: .queryFailed)
        return LogTreeState(logID: self.logID, frontier: frontier)
    }

    func removeHeads(sizes: [UInt64], on connection: PostgresConnection) throws(StoreError) {
        var array = PostgresArrayLiteral(capacity: sizes.count * 12)
        for size in sizes { array.append(String(size)) }
        _ = try connection.executePrepared(
            "DELETE FROM ledger_tree_heads WHERE log_id = $1::bytea AND size = ANY($2::bigint[])", [.bytes(self.logID), .text(array.text)],
            as: .writeFailed)
    }

    func store(_ head: SignedTreeHead, on connection: PostgresConnection) throws(StoreError) {
        _ = try connection.execute(
            """
            INSERT INTO ledger_tree_heads (log_id, size, root, timestamp, signature)
            VALUES (decode($1, 'hex'), $2::bigint, decode($3, 'hex'), $4::bigint, decode($5, 'hex')) ON CONFLICT DO NOTHING
            """,
            [
                HexText.text(head.logID), String(head.treeSize), HexText.text(head.rootHash), String(head.timestamp.rawValue),
                HexText.text(head.signature),
            ], as: .writeFailed)
    }
}
