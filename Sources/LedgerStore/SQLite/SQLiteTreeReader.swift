import Foundation
import LedgerProtocol
import LedgerTree
import NIOConcurrencyHelpers

/// Reads a SQLite store's logs: for `ledger-rpc verify --store` straight from the file, on a
/// connection of its own that cannot write, so a daemon that is down or not trusted has no say;
/// for the daemon's `prove`, on its reader pool within the query budget, like any other read.
public final class SQLiteTreeReader: TreeSource, Sendable {
    private let reads: TreeReads<SQLiteStore>
    /// SQLite returns the text ledgerd stored, which it stores in canonical form.
    public let metadataIsStoredText = true

    /// Opens an existing store; a missing file or one without trees (before migration 9) is an error that says so.
    public init(path: String) throws(StoreError) {
        guard access(path, F_OK) == 0 else {
            throw StoreError(code: .invalidConfiguration, message: "\(path) does not exist; --store names a ledger's SQLite file")
        }
        let connection = try SQLiteConnection(path: path, creating: false)
        try connection.execute("PRAGMA query_only=ON", as: .unavailable)
        let tables = try connection.prepare("SELECT count(*) FROM sqlite_master WHERE type = 'table' AND name = 'ledger_tree'", as: .unavailable)
        let hasTrees = try tables.step(as: .unavailable) && tables.integer(0) == 1
        tables.reset()
        guard hasTrees else {
            throw StoreError(
                code: .invalidConfiguration, message: "\(path) keeps no Merkle trees: it is not a ledger, or no ledgerd of this version has opened it yet")
        }
        self.reads = .own(connection, NIOLock())
    }

    /// Reads through the store's reader pool.
    init(store: SQLiteStore) {
        self.reads = .pool(store)
    }

    private func rows<Row: Sendable>(
        _ sql: String, _ values: [SQLiteStatement.Value], blobs: [(Int32, [UInt8])] = [],
        _ row: @escaping @Sendable (SQLiteStatement) throws(StoreError) -> Row
    ) async throws -> [Row] {
        try await self.reads.run { (connection: SQLiteConnection) throws -> [Row] in
            let statement = try connection.prepare(sql)
            defer { statement.reset() }
            statement.bind(values)
            for (index, blob) in blobs { statement.bind(index, blob: blob) }
            var rows: [Row] = []
            while try statement.step(as: .queryFailed) { rows.append(try row(statement)) }
            return rows
        }
    }

    public func logs() async throws -> [LogSummary] {
        try await self.rows(
            """
            SELECT log_id, public_key,
                   (SELECT frontier FROM ledger_tree_leaves l WHERE l.log_id = t.log_id ORDER BY first_leaf DESC LIMIT 1)
              FROM ledger_tree t ORDER BY log_id
            """, []
        ) { (row: SQLiteStatement) throws(StoreError) in
            let frontier = row.isNull(2) ? TreeFrontier() : TreeFrontier(bytes: row.blob(2)) ?? TreeFrontier()
            return LogSummary(logID: row.blob(0), publicKey: row.blob(1), size: frontier.size, root: frontier.root)
        }
    }

    private static func head(_ row: SQLiteStatement) -> SignedTreeHead {
        SignedTreeHead(
            logID: row.blob(0), treeSize: UInt64(row.integer(1)), rootHash: row.blob(2), timestamp: LedgerTimestamp(rawValue: row.integer(3)),
            signature: row.blob(4))
    }

    public func heads(logID: [UInt8], fromSize size: UInt64, limit: Int) async throws -> [SignedTreeHead] {
        try await self.rows(
            "SELECT log_id, size, root, timestamp, signature FROM ledger_tree_heads WHERE log_id = ?1 AND size >= ?2 ORDER BY size LIMIT ?3",
            [.integer(0), .integer(Int64(size)), .integer(Int64(limit))], blobs: [(1, logID)]
        ) { (row: SQLiteStatement) throws(StoreError) in Self.head(row) }
    }

    public func latestHead(logID: [UInt8]) async throws -> SignedTreeHead? {
        try await self.rows(
            "SELECT log_id, size, root, timestamp, signature FROM ledger_tree_heads WHERE log_id = ?1 ORDER BY size DESC LIMIT 1", [.integer(0)],
            blobs: [(1, logID)]
        ) { (row: SQLiteStatement) throws(StoreError) in Self.head(row) }.first
    }

    public func leafRecords(logID: [UInt8], from leaf: UInt64, limit: Int) async throws -> [LeafRecord] {
        try await self.reads.run { (connection: SQLiteConnection) throws -> [LeafRecord] in
            let statement = try connection.prepare(
                """
                SELECT first_leaf, records FROM ledger_tree_leaves
                 WHERE log_id = ?1 AND first_leaf >= coalesce((SELECT max(first_leaf) FROM ledger_tree_leaves WHERE log_id = ?1 AND first_leaf <= ?2), 0)
                 ORDER BY first_leaf
                """)
            defer { statement.reset() }
            statement.bind(1, blob: logID)
            statement.bind(2, integer: Int64(leaf))
            var page = LeafRecordPage(from: leaf, logID: logID)
            // Row by row, and no further than the page needs: a row holds one commit's records.
            while page.records.count < limit, try statement.step(as: .queryFailed) {
                try page.add(rowFrom: UInt64(statement.integer(0)), records: statement.blob(1))
            }
            return page.records
        }
    }

    public func frontier(logID: [UInt8], sizeWithin sizes: Range<UInt64>) async throws -> TreeFrontier? {
        // The newest commit to start below the window's end, and the one before it: whichever ended in the window.
        try await self.rows(
            "SELECT frontier FROM ledger_tree_leaves WHERE log_id = ?1 AND first_leaf < ?2 ORDER BY first_leaf DESC LIMIT 2",
            [.integer(0), .integer(Int64(clamping: sizes.upperBound))], blobs: [(1, logID)]
        ) { (row: SQLiteStatement) throws(StoreError) in TreeFrontier(bytes: row.blob(0)) }
        .lazy.compactMap { $0 }.first { sizes.contains($0.size) }
    }

    public func leaf(ofSequence sequence: Int64, logID: [UInt8]) async throws -> UInt64? {
        let rows = try await self.rows(
            "SELECT first_leaf, records FROM ledger_tree_leaves WHERE log_id = ?1 AND first_seq <= ?2 AND last_seq >= ?2 ORDER BY first_seq DESC LIMIT 1",
            [.integer(0), .integer(sequence)], blobs: [(1, logID)]
        ) { (row: SQLiteStatement) throws(StoreError) in (row.integer(0), row.blob(1)) }
        guard let (first, bytes) = rows.first, let records = LeafRecord.decode(bytes),
            let index = records.firstIndex(where: { $0.sequence == sequence })
        else { return nil }
        return UInt64(first) + UInt64(index)
    }

    public func sequence(ofEvent id: UUID) async throws -> Int64? {
        try await self.rows("SELECT seq FROM ledger_events WHERE id = ?", [.text(id.lowercaseText)]) { (row: SQLiteStatement) throws(StoreError) in row.integer(0) }
            .first
    }

    /// The events from a sequence on, in commit order: what a leaf is hashed from, here and when a log adopts them.
    static let eventsFromSequence = "SELECT \(EventColumns.list()) FROM ledger_events WHERE seq >= ? ORDER BY seq LIMIT ?"

    public func events(afterSequence sequence: Int64, limit: Int) async throws -> [LedgerEvent] {
        guard let first = CommitSequence.first(after: sequence) else { return [] }
        return try await self.rows(Self.eventsFromSequence, [.integer(first), .integer(Int64(limit))]) { (row: SQLiteStatement) throws(StoreError) in
            try EventColumns.event(from: SQLiteRow(statement: row))
        }
    }

    public func tombstones(afterSequence sequence: Int64, limit: Int) async throws -> [Tombstone] {
        try await self.rows(
            "SELECT seq, retention FROM ledger_tree_tombstones WHERE seq > ? ORDER BY seq LIMIT ?", [.integer(sequence), .integer(Int64(limit))]
        ) { (row: SQLiteStatement) throws(StoreError) in Tombstone(sequence: row.integer(0), retention: row.text(1) ?? "") }
    }
}
