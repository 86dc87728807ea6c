import Foundation
import LedgerProtocol
import LedgerTree
import NIOConcurrencyHelpers

/// Reads a PostgreSQL store's logs: for `ledger-rpc verify --store postgres://…` on a connection of
/// its own, inside one read-only snapshot, so that commits landing while it reads (another
/// ledgerd's, or the second half of a split batch) cannot make a log look changed; for the daemon's
/// `prove`, on its reader connections within their statement timeout.
public final class PostgresTreeReader: TreeSource, Sendable {
    private let reads: TreeReads<PostgresStore>
    /// The events, read on a connection of their own in the same snapshot, so that the next page of
    /// them loads while the verifier reads leaf records and checks the page before.
    private let eventReads: TreeReads<PostgresStore>
    /// PostgreSQL returns jsonb's rendering of the metadata, which the leaf takes in canonical form.
    public let metadataIsStoredText = false

    /// Connects twice and opens one snapshot on both; a database without trees (before migration 6)
    /// is an error that says so.
    public init(connectionInfo: PostgresConnectionInfo) throws(StoreError) {
        let connection = try PostgresConnection(info: connectionInfo, settings: ["SET jit = off"])
        let second: PostgresConnection
        do throws(StoreError) {
            let tables = try connection.execute("SELECT to_regclass('ledger_tree') IS NOT NULL", as: .unavailable)
            guard tables.text(0, 0) == "t" else {
                throw StoreError(
                    code: .invalidConfiguration,
                    message: "\(connectionInfo) keeps no Merkle trees: it is not a ledger, or no ledgerd of this version has opened it yet")
            }
            try connection.execute("BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY", as: .unavailable)
            let snapshot = try connection.execute("SELECT pg_export_snapshot()", as: .unavailable).text(0, 0) ?? ""
            second = try PostgresConnection(info: connectionInfo, settings: ["SET jit = off"])
            do throws(StoreError) {
                try second.execute("BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY", as: .unavailable)
                _ = try second.execute("SET TRANSACTION SNAPSHOT '\(snapshot.filter { $0.isHexDigit || $0 == "-" })'", as: .unavailable)
            } catch {
                second.close()
                throw error
            }
        } catch {
            connection.close()
            throw error
        }
        self.reads = .own(connection, NIOLock())
        self.eventReads = .own(second, NIOLock())
    }

    /// Reads through the store's reader connections.
    init(store: PostgresStore) {
        self.reads = .pool(store)
        self.eventReads = .pool(store)
    }

    deinit {
        for reads in [self.reads, self.eventReads] {
            if case .own(let connection, _) = reads { connection.close() }
        }
    }

    /// The rows of a statement, every cell as text; byte columns are selected as hex.
    private func rows<Row: Sendable>(
        _ sql: String, _ parameters: [String?], on reads: TreeReads<PostgresStore>? = nil, _ row: @escaping @Sendable (PostgresResult, Int) throws -> Row
    ) async throws -> [Row] {
        try await (reads ?? self.reads).run { (connection: PostgresConnection) throws -> [Row] in
            let result = try connection.execute(sql, parameters, as: .queryFailed)
            return try (0..<result.rowCount).map { try row(result, $0) }
        }
    }

    private static func bytes(_ result: PostgresResult, _ row: Int, _ column: Int) throws -> [UInt8] {
        guard let bytes = result.text(row, column).flatMap({ HexText.bytes($0) }) else {
            throw TreeError(.badStore, "a tree table returned a value that is not hex bytes")
        }
        return bytes
    }

    public func logs() async throws -> [LogSummary] {
        try await self.rows(
            """
            SELECT encode(log_id, 'hex'), encode(public_key, 'hex'),
                   (SELECT encode(frontier, 'hex') FROM ledger_tree_leaves l WHERE l.log_id = t.log_id ORDER BY first_leaf DESC LIMIT 1)
              FROM ledger_tree t ORDER BY log_id
            """, []
        ) { result, row in
            let frontier = result.text(row, 2).flatMap({ HexText.bytes($0) }).flatMap({ TreeFrontier(bytes: $0) }) ?? TreeFrontier()
            return LogSummary(logID: try Self.bytes(result, row, 0), publicKey: try Self.bytes(result, row, 1), size: frontier.size, root: frontier.root)
        }
    }

    private static let headColumns = "encode(log_id, 'hex'), size, encode(root, 'hex'), timestamp, encode(signature, 'hex')"

    private static func head(_ result: PostgresResult, _ row: Int) throws -> SignedTreeHead {
        SignedTreeHead(
            logID: try Self.bytes(result, row, 0), treeSize: result.text(row, 1).flatMap { UInt64($0) } ?? 0,
            rootHash: try Self.bytes(result, row, 2), timestamp: LedgerTimestamp(rawValue: result.text(row, 3).flatMap { Int64($0) } ?? 0),
            signature: try Self.bytes(result, row, 4))
    }

    public func heads(logID: [UInt8], fromSize size: UInt64, limit: Int) async throws -> [SignedTreeHead] {
        try await self.rows(
            "SELECT \(Self.headColumns) FROM ledger_tree_heads WHERE log_id = decode($1, 'hex') AND size >= $2::bigint ORDER BY size LIMIT $3::bigint",
            [HexText.text(logID), String(size), String(limit)], Self.head)
    }

    public func latestHead(logID: [UInt8]) async throws -> SignedTreeHead? {
        try await self.rows(
            "SELECT \(Self.headColumns) FROM ledger_tree_heads WHERE log_id = decode($1, 'hex') ORDER BY size DESC LIMIT 1", [HexText.text(logID)],
            Self.head
        ).first
    }

    public func leafRecords(logID: [UInt8], from leaf: UInt64, limit: Int) async throws -> [LeafRecord] {
        // Whole commits from the one that holds `leaf`, about `limit` records' worth (commits of a
        // thousand events at most are the common case; the page ends at the first that passes it).
        let rows = try await self.rows(
            """
            SELECT first_leaf, encode(records, 'hex') FROM ledger_tree_leaves
             WHERE log_id = decode($1, 'hex')
               AND first_leaf >= coalesce((SELECT max(first_leaf) FROM ledger_tree_leaves WHERE log_id = decode($1, 'hex') AND first_leaf <= $2::bigint), 0)
               AND first_leaf < $2::bigint + $3::bigint
             ORDER BY first_leaf
            """, [HexText.text(logID), String(leaf), String(limit)]
        ) { result, row in (result.text(row, 0).flatMap { UInt64($0) } ?? 0, result.text(row, 1).flatMap { HexText.bytes($0) }) }
        var page = LeafRecordPage(from: leaf, logID: logID)
        for (first, bytes) in rows { try page.add(rowFrom: first, records: bytes) }
        return page.records
    }

    public func frontier(logID: [UInt8], sizeWithin sizes: Range<UInt64>) async throws -> TreeFrontier? {
        // The newest commit to start below the window's end, and the one before it: whichever ended in the window.
        try await self.rows(
            "SELECT encode(frontier, 'hex') FROM ledger_tree_leaves WHERE log_id = decode($1, 'hex') AND first_leaf < $2::bigint ORDER BY first_leaf DESC LIMIT 2",
            [HexText.text(logID), String(Int64(clamping: sizes.upperBound))]
        ) { result, row in result.text(row, 0).flatMap { HexText.bytes($0) }.flatMap { TreeFrontier(bytes: $0) } }
        .lazy.compactMap { $0 }.first { sizes.contains($0.size) }
    }

    public func leaf(ofSequence sequence: Int64, logID: [UInt8]) async throws -> UInt64? {
        let rows = try await self.rows(
            """
            SELECT first_leaf, encode(records, 'hex') FROM ledger_tree_leaves
             WHERE log_id = decode($1, 'hex') AND first_seq <= $2::bigint AND last_seq >= $2::bigint ORDER BY first_seq DESC LIMIT 1
            """, [HexText.text(logID), String(sequence)]
        ) { result, row in (result.text(row, 0).flatMap { UInt64($0) }, result.text(row, 1).flatMap { HexText.bytes($0) }) }
        guard let (first, bytes) = rows.first, let first, let records = bytes.flatMap({ LeafRecord.decode($0) }),
            let index = records.firstIndex(where: { $0.sequence == sequence })
        else { return nil }
        return first + UInt64(index)
    }

    public func sequence(ofEvent id: UUID) async throws -> Int64? {
        try await self.rows("SELECT seq FROM ledger_events WHERE id = $1::uuid", [id.lowercaseText]) { result, row in
            result.text(row, 0).flatMap { Int64($0) }
        }.first ?? nil
    }

    /// The events from a sequence on, in commit order: what a leaf is hashed from, here and when a log adopts them.
    static let eventsFromSequence = PostgresStore.selectColumns + " WHERE seq >= $1::bigint ORDER BY seq LIMIT $2::bigint"

    public func events(afterSequence sequence: Int64, limit: Int) async throws -> [LedgerEvent] {
        guard let first = CommitSequence.first(after: sequence) else { return [] }
        return try await self.rows(Self.eventsFromSequence, [String(first), String(limit)], on: self.eventReads) { result, row in
            try EventColumns.event(from: PostgresRow(result: result, row: row))
        }
    }

    public func tombstones(afterSequence sequence: Int64, limit: Int) async throws -> [Tombstone] {
        try await self.rows(
            "SELECT seq, retention FROM ledger_tree_tombstones WHERE seq > $1::bigint ORDER BY seq LIMIT $2::bigint", [String(sequence), String(limit)]
        ) { result, row in Tombstone(sequence: result.text(row, 0).flatMap { Int64($0) } ?? 0, retention: result.text(row, 1) ?? "") }
    }
}
