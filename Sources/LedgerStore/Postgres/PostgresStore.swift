import Foundation
import LedgerProtocol
import LedgerTree
import Logging
import NIOConcurrencyHelpers

/// The production store: PostgreSQL through libpq.
///
/// Writes and reads each have their own connections on their own threads, so a long
/// query never stalls ingest. A large batch is split between two writer connections
/// that copy side by side (`PostgresCopyPair`). A connection that breaks is replaced on its next use;
/// until then calls fail with `StoreError.Code.unavailable`, which the batch writer
/// answers by holding its batch and retrying.
public final class PostgresStore: EventStore, ReportRunning, TreeReadingStore {
    public let connectionInfo: PostgresConnectionInfo
    let writer: Worker<PostgresConnection>
    let secondWriter: Worker<PostgresConnection>
    private let readers: WorkerPool<PostgresConnection>
    /// Retention's own connection, opened by the first pass: PostgreSQL removes rows beside
    /// concurrent inserts, so a slice never waits behind a commit, nor a commit behind a slice; it
    /// also holds the retention lock. A daemon that keeps everything never opens it.
    private let retention = NIOLockedValueBox<Worker<PostgresConnection>?>(nil)
    private let queryTimeout: Duration?
    /// Held while a split batch's two jobs are queued, so both writers take split batches in the same order.
    let pairing = NIOLock()
    let partitionSchedule = PostgresPartitionSchedule()
    private let logShare = NIOLockedValueBox(PostgresLogShare())
    /// This daemon's log, once `openLog` named its key: every commit from then on adds its leaves.
    private let log = NIOLockedValueBox<PostgresLogTree?>(nil)
    /// Hashes the tree's leaves beside the writer, once a log is open.
    private let leafHasher = LeafHasher()
    var logTree: PostgresLogTree? { self.log.withLockedValue { $0 } }
    let logger: Logger

    public var description: String { self.connectionInfo.description }

    /// Rows per INSERT statement: 12 parameters each, well under libpq's 65,535.
    static let rowsPerStatement = 1_000

    /// Connects, applies migrations under an advisory lock, and opens the query connection.
    public init(
        connectionInfo: PostgresConnectionInfo, migrations: MigrationCatalog? = nil, limits: StoreReadLimits = StoreReadLimits(),
        logger: Logger = Logger(label: "ledger.store.postgres")
    ) async throws(StoreError) {
        self.connectionInfo = connectionInfo
        self.queryTimeout = limits.queryTimeout
        self.logger = logger
        let catalog: MigrationCatalog
        if let migrations {
            catalog = migrations
        } else {
            catalog = try MigrationCatalog.embedded(backend: "postgres")
        }
        self.writer = try await Worker(name: "ledger-postgres-writer") { () throws(StoreError) in
            let connection = try PostgresConnection(info: connectionInfo)
            try PostgresMigrator(connection: connection).migrate(catalog, logger: logger)
            return connection
        }
        do {
            self.secondWriter = try await Worker(name: "ledger-postgres-writer-2") { () throws(StoreError) in
                try PostgresConnection(info: connectionInfo)
            }
        } catch {
            await self.writer.shutdown()
            throw error
        }
        do {
            // The server stops a query past its budget itself, and says so with SQLSTATE 57014.
            // JIT off: the reports' per-job index lookups raise the planner's cost estimate past
            // jit_above_cost, and compiling then took longer than the query (584 of 1,242 ms for
            // a day of jobs); the ledger's reads are index lookups that JIT does not speed up.
            let settings = ["SET jit = off"] + (limits.queryTimeout.map { ["SET statement_timeout = \(max(1, Int($0 / .milliseconds(1))))"] } ?? [])
            self.readers = try await WorkerPool(name: "ledger-postgres-reader", count: limits.readers) { () throws(StoreError) in
                try PostgresConnection(info: connectionInfo, settings: settings)
            }
        } catch {
            await self.secondWriter.shutdown()
            await self.writer.shutdown()
            throw error
        }
        await self.keepPartitionsAhead()
    }

    /// The retention connection's planning, so that a slice costs its own rows whatever the
    /// statistics say. A slice planned with its cutoff as a constant went wrong both ways: on a table
    /// never analyzed the planner expected a few matches and read every expired row with a bitmap
    /// scan to sort them (370 ms for a slice of 20 among a million), and once statistics were
    /// gathered past a purge's deleted rows it walked their index entries to find the index's first
    /// value (258 ms of planning a slice after ten million removed; the pass crawled at 30 events/s).
    /// A generic plan never looks at the cutoff, and without bitmap scans and sorts the only plan
    /// left for `ORDER BY timestamp, id LIMIT n` is the ordered walk of the timestamp index. JIT
    /// off: the disabled paths' cost would otherwise pass `jit_above_cost` and compile each slice.
    static let retentionSettings = [
        "SET jit = off", "SET plan_cache_mode = force_generic_plan", "SET enable_bitmapscan = off", "SET enable_sort = off",
    ]

    /// The retention connection, opened on first use.
    func retentionWorker() async throws(StoreError) -> Worker<PostgresConnection> {
        if let worker = self.retention.withLockedValue({ $0 }) { return worker }
        let info = self.connectionInfo
        let worker = try await Worker(name: "ledger-postgres-retention") { () throws(StoreError) in
            try PostgresConnection(info: info, settings: Self.retentionSettings)
        }
        let kept = self.retention.withLockedValue { current in
            if let current { return current }
            current = worker
            return worker
        }
        if kept !== worker { await worker.shutdown() }
        return kept
    }

    /// The requests are joined: COPY takes one stream of rows, so PostgreSQL gains nothing from walking them apart.
    public func insert(requests: [[LedgerEvent]]) async throws(StoreError) -> [Int64?] {
        try await self.insert(requests: requests, leaves: [])
    }

    /// Durable when it returns, as every PostgreSQL commit is.
    public func commit(requests: [[LedgerEvent]], leaves: [[LeafPrefix]]) async throws(StoreError) -> StoreCommit {
        StoreCommit(sequences: try await self.insert(requests: requests, leaves: leaves))
    }

    /// - Parameter leaves: each event's `LeafPrefix`, in the requests' shape, or none.
    func insert(requests: [[LedgerEvent]], leaves: [[LeafPrefix]]) async throws(StoreError) -> [Int64?] {
        await self.keepPartitionsAhead()
        let prefixes = LeafPrefix.joined(leaves, fitting: requests)
        let total = requests.reduce(0) { $0 + $1.count }
        if total >= Self.splitEvents, let cut = Self.halfway(requests, total: total) {
            let first = Array(requests[..<cut].joined())
            let second = Array(requests[cut...].joined())
            // An id in both halves would have the second wait on the first's row lock while the first
            // waits for the second's copy: such a batch (a retry pipelined behind its original) goes whole.
            if !Self.shareAnID(first, second) {
                let halves = prefixes.isEmpty ? ([], []) : (Array(prefixes[..<first.count]), Array(prefixes[first.count...]))
                return try await self.insertSplit(first, second, leaves: halves)
            }
        }
        let events = requests.count == 1 ? requests[0] : Array(requests.joined())
        guard !events.isEmpty else { return [] }
        let tree = self.logTree
        return try await self.writer.run { (connection: PostgresConnection) throws(StoreError) -> [Int64?] in
            try connection.reconnectIfBroken()
            do throws(StoreError) {
                return try Self.copy(events, leaves: prefixes, tree: tree, on: connection)
            } catch where error.backendCode == Self.uniqueViolation {
                // An id is already stored (a client's retry) or is twice in the batch: nothing of the
                // copy was kept, and the batch goes again through the statement that skips stored ids.
                return try Self.insertSkippingStored(events, leaves: prefixes, tree: tree, on: connection)
            }
        }
    }

    static let uniqueViolation = "23505"
    public func query(_ request: QueryRequest) async throws(StoreError) -> EventsResult {
        try await self.read { (connection: PostgresConnection) throws(StoreError) -> EventsResult in
            try connection.reconnectIfBroken()
            var sql = Self.filterSQL(request.filter)
            if let cursor = request.after { sql.add(after: cursor, order: request.order) }
            let text = Self.selectColumns + sql.whereClause + EventQuerySQL.orderClause(request.order) + " LIMIT \(UInt64(request.limit) + 1)"
            return EventsResult(rows: try Self.events(connection, text, sql.values), limit: request.limit)
        }
    }

    public func events(afterSequence sequence: Int64, matching filter: EventFilter, limit: Int) async throws(StoreError) -> [LedgerEvent] {
        try await self.read { (connection: PostgresConnection) throws(StoreError) -> [LedgerEvent] in
            try connection.reconnectIfBroken()
            var sql = Self.filterSQL(filter)
            sql.add(afterSequence: sequence)
            return try Self.events(connection, Self.selectColumns + sql.whereClause + " ORDER BY seq LIMIT \(limit)", sql.values)
        }
    }

    static let queryCanceled = "57014"
    /// PostgreSQL's own SQLSTATE for a timestamp it cannot hold, given to one refused before it is sent.
    static let datetimeFieldOverflow = "22008"

    /// Runs a read on the least busy reader connection; a query the server stopped at its budget is `timed out`.
    private func read<Result: Sendable>(_ body: @escaping @Sendable (PostgresConnection) throws(StoreError) -> Result) async throws(StoreError) -> Result {
        do throws(StoreError) {
            return try await self.readers.run(body)
        } catch {
            guard error.backendCode == Self.queryCanceled, let timeout = self.queryTimeout else { throw error }
            throw StoreError(
                code: .timedOut,
                message: "the query ran longer than \(timeout) (--query-timeout) and was stopped; narrow its filter",
                backendCode: Self.queryCanceled)
        }
    }

    public func count(_ filter: EventFilter) async throws(StoreError) -> UInt64 {
        try await self.read { (connection: PostgresConnection) throws(StoreError) -> UInt64 in
            try connection.reconnectIfBroken()
            let sql = Self.filterSQL(filter)
            let result = try connection.execute(
                "SELECT count(*) FROM ledger_events" + sql.whereClause, sql.values.map(\.postgresText), as: .queryFailed)
            return result.text(0, 0).flatMap { UInt64($0) } ?? 0
        }
    }

    public func timeline(_ request: TimelineRequest) async throws(StoreError) -> EventsResult {
        try await self.read { (connection: PostgresConnection) throws(StoreError) -> EventsResult in
            try connection.reconnectIfBroken()
            var sql = Self.filterSQL(EventFilter())
            ReportSQL.addTimeline(request, to: &sql, dialect: .postgres)
            let text = Self.selectColumns + sql.whereClause + EventQuerySQL.orderClause(.oldestFirst) + " LIMIT \(UInt64(request.limit) + 1)"
            return EventsResult(rows: try Self.events(connection, text, sql.values), limit: request.limit)
        }
    }

    /// The events a SELECT of `selectColumns` returns.
    private static func events(_ connection: PostgresConnection, _ text: String, _ values: [EventQuerySQL.Value]) throws(StoreError) -> [LedgerEvent] {
        let result = try connection.execute(text, values.map(\.postgresText), as: .queryFailed)
        var events: [LedgerEvent] = []
        events.reserveCapacity(result.rowCount)
        for row in 0..<result.rowCount {
            events.append(try EventColumns.event(from: PostgresRow(result: result, row: row)))
        }
        return events
    }

    /// Runs a report's statements on one reader connection, each row's cells as text.
    func report<Result: Sendable>(
        _ body: @escaping @Sendable (inout ReportSQL, ReportSQL.Run) throws(StoreError) -> Result
    ) async throws(StoreError) -> Result {
        try await self.read { (connection: PostgresConnection) throws(StoreError) -> Result in
            try connection.reconnectIfBroken()
            var sql = ReportSQL(.postgres)
            return try body(&sql) { (text: String, values: [EventQuerySQL.Value]) throws(StoreError) -> ReportSQL.Rows in
                let result = try connection.execute(text, values.map(\.postgresText), as: .queryFailed)
                return (0..<result.rowCount).map { row in (0..<result.columnCount).map { result.text(row, $0) } }
            }
        }
    }

    public func latestSequence() async throws(StoreError) -> Int64 {
        try await self.read { (connection: PostgresConnection) throws(StoreError) -> Int64 in
            try connection.reconnectIfBroken()
            let result = try connection.execute("SELECT coalesce(max(seq), 0) FROM ledger_events", [], as: .queryFailed)
            return result.text(0, 0).flatMap { Int64($0) } ?? 0
        }
    }

    /// One round trip on a reader connection; a server that is down fails it as `unavailable`.
    public func checkHealth() async throws(StoreError) {
        try await self.read { (connection: PostgresConnection) throws(StoreError) in
            try connection.reconnectIfBroken()
            _ = try connection.execute("SELECT 1", [], as: .unavailable)
        }
    }

    public func expirySummary(_ selection: ExpirySelection, countingUpTo cap: UInt64?) async throws(StoreError) -> ExpirySummary {
        let sql = Self.selectionSQL(selection, after: nil)
        let (conditions, values) = (sql.whereClause, sql.values.map(\.postgresText))
        guard let cap else {
            // A pass's own count walks every expired event: background work, on the retention
            // connection, which has no statement timeout.
            return try await self.retentionWorker().run { (connection: PostgresConnection) throws(StoreError) -> ExpirySummary in
                try connection.reconnectIfBroken()
                let result = try connection.execute(
                    "SELECT count(*), \(Self.microseconds("min(timestamp)")), \(Self.microseconds("max(timestamp)")) FROM ledger_events" + conditions,
                    values, as: .queryFailed)
                return ExpirySummary(
                    events: result.text(0, 0).flatMap { UInt64($0) } ?? 0,
                    oldest: result.text(0, 1).flatMap { Int64($0) }.map(LedgerTimestamp.init(rawValue:)),
                    newest: result.text(0, 2).flatMap { Int64($0) }.map(LedgerTimestamp.init(rawValue:)))
            }
        }
        return try await self.read { (connection: PostgresConnection) throws(StoreError) -> ExpirySummary in
            try connection.reconnectIfBroken()
            // A generic plan, as on the retention connection: during a purge, planning the cutoff as
            // a constant walks the deleted rows' index entries.
            let result = try connection.transaction(as: .queryFailed) { () throws(StoreError) -> PostgresResult in
                try connection.execute("SET LOCAL plan_cache_mode = force_generic_plan", as: .queryFailed)
                return try connection.execute(
                    "SELECT count(*) FROM (SELECT 1 FROM ledger_events\(conditions) LIMIT \(cap + 1)) AS capped", values,
                    as: .queryFailed)
            }
            return ExpirySummary(events: result.text(0, 0).flatMap { UInt64($0) } ?? 0, oldest: nil, newest: nil)
        }
    }

    public func expire(_ selection: ExpirySelection, after cursor: EventCursor?, limit: Int) async throws(StoreError) -> ExpiryProgress {
        try await self.retentionWorker().run { (connection: PostgresConnection) throws(StoreError) -> ExpiryProgress in
            try connection.reconnectIfBroken()
            let sql = Self.selectionSQL(selection, after: cursor)
            // The slice's keys, oldest first, then its newest key; (timestamp, id) names a row in either
            // layout. Each removed event's leaf record stays; its tombstone says which pass took it.
            let pass = "'" + (selection.record?.lowercaseText ?? "unrecorded") + "'"
            let text = """
                WITH slice AS (SELECT timestamp, id FROM ledger_events\(sql.whereClause)\(EventQuerySQL.orderClause(.oldestFirst)) LIMIT \(limit)),
                gone AS (DELETE FROM ledger_events WHERE (timestamp, id) IN (SELECT timestamp, id FROM slice) RETURNING timestamp, id, seq),
                buried AS (INSERT INTO ledger_tree_tombstones (seq, retention) SELECT seq, \(pass) FROM gone
                           ON CONFLICT (seq) DO UPDATE SET retention = excluded.retention)
                SELECT (SELECT count(*) FROM gone), \(Self.microseconds("timestamp")), id::text FROM slice ORDER BY timestamp DESC, id DESC LIMIT 1
                """
            let position = "SELECT (pg_current_wal_insert_lsn() - '0/0'::pg_lsn)::text"
            let start = try connection.execute(position, as: .writeFailed).text(0, 0).flatMap { UInt64($0) }
            let began = ContinuousClock.now
            let result = try connection.execute(text, sql.values.map(\.postgresText), as: .writeFailed)
            let end = try connection.execute(position, as: .writeFailed).text(0, 0).flatMap { UInt64($0) }
            let ended = ContinuousClock.now
            var logBytes: UInt64?
            if let start, let end {
                logBytes = self.logShare.withLockedValue { $0.slice(from: start, at: began, to: end, at: ended) }
            }
            guard result.rowCount == 1, let removed = result.text(0, 0).flatMap({ Int($0) }),
                let micros = result.text(0, 1).flatMap({ Int64($0) }), let id = result.text(0, 2).flatMap(UUID.init(uuidString:))
            else {
                return ExpiryProgress(removed: 0, last: nil, logBytes: logBytes)
            }
            return ExpiryProgress(removed: removed, last: EventCursor(timestamp: LedgerTimestamp(rawValue: micros), id: id), logBytes: logBytes)
        }
    }

    /// A session advisory lock on the retention connection: held for the pass, and let go by the
    /// server if this daemon dies, so a crashed purger never blocks the others.
    public func claimRetention() async throws(StoreError) -> Bool {
        try await self.retentionWorker().run { (connection: PostgresConnection) throws(StoreError) -> Bool in
            try connection.reconnectIfBroken()
            let result = try connection.execute("SELECT pg_try_advisory_lock($1::bigint)", [Self.retentionLockKey], as: .unavailable)
            return result.text(0, 0) == "t"
        }
    }

    public func releaseRetention() async {
        _ = try? await self.retention.withLockedValue({ $0 })?.run { (connection: PostgresConnection) throws(StoreError) in
            _ = try connection.execute("SELECT pg_advisory_unlock($1::bigint)", [Self.retentionLockKey], as: .unavailable)
        }
    }

    /// Beside the migrator's key ("ledger" in ASCII codes), "retain".
    static let retentionLockKey = "114101116097105110"

    private static func selectionSQL(_ selection: ExpirySelection, after cursor: EventCursor?) -> EventQuerySQL {
        selection.sql(after: cursor, placeholder: { "$\($0)" }, timestampEncoding: .iso8601(cast: "::timestamptz"), uuidCast: "::uuid")
    }

    public func openLog(_ key: LogPublicKey) async throws(StoreError) -> UInt64 {
        let tree = PostgresLogTree(key: key, hasher: self.leafHasher)
        let adopted = try await self.writer.run { (connection: PostgresConnection) throws(StoreError) -> UInt64 in
            try connection.reconnectIfBroken()
            return try tree.open(on: connection, logger: self.logger)
        }
        self.log.withLockedValue { $0 = tree }
        return adopted
    }

    /// Read on a reader connection: what PostgreSQL shows another session has been committed durably.
    public func treeState() async throws(StoreError) -> LogTreeState? {
        guard let tree = self.logTree else { return nil }
        return try await self.read { (connection: PostgresConnection) throws(StoreError) -> LogTreeState in
            try connection.reconnectIfBroken()
            return try tree.state(on: connection)
        }
    }

    public func storeHead(_ head: SignedTreeHead) async throws(StoreError) {
        guard let tree = self.logTree else { return }
        try await self.writer.run { (connection: PostgresConnection) throws(StoreError) in
            try connection.reconnectIfBroken()
            try tree.store(head, on: connection)
        }
    }

    public func removeHeads(sizes: [UInt64]) async throws(StoreError) {
        guard let tree = self.logTree, !sizes.isEmpty else { return }
        try await self.writer.run { (connection: PostgresConnection) throws(StoreError) in
            try connection.reconnectIfBroken()
            try tree.removeHeads(sizes: sizes, on: connection)
        }
    }

    /// The daemon's own reads of the logs (`prove`) share the reader connections and their statement timeout.
    public func treeSource() async throws(StoreError) -> (any TreeSource)? {
        PostgresTreeReader(store: self)
    }

    /// A tree read on a reader connection; one the server stopped at the budget is `timedOut`.
    func readTree<Value: Sendable>(_ body: @escaping @Sendable (PostgresConnection) throws -> Value) async throws -> Value {
        let outcome = try await self.read { (connection: PostgresConnection) throws(StoreError) -> Result<Value, any Error> in
            try connection.reconnectIfBroken()
            do {
                return .success(try body(connection))
            } catch let error as StoreError {
                throw error
            } catch {
                return .failure(error)
            }
        }
        return try outcome.get()
    }

    public func close() async {
        await self.retention.withLockedValue({ $0 })?.shutdown()
        await self.writer.shutdown()
        await self.secondWriter.shutdown()
        await self.readers.shutdown()
        await self.leafHasher.shutdown()
    }

    private static func filterSQL(_ filter: EventFilter) -> EventQuerySQL {
        EventQuerySQL(filter: filter, placeholder: { "$\($0)" }, timestampEncoding: .iso8601(cast: "::timestamptz"), uuidCast: "::uuid")
    }


}

extension EventQuerySQL.Value {
    var postgresText: String? {
        switch self {
        case .text(let text): text
        case .integer(let integer): String(integer)
        }
    }
}
