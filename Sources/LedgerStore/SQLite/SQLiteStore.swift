import CSQLite
import Foundation
import LedgerFiles
import LedgerProtocol
import LedgerTree
import Logging
import NIOPosix

/// The embedded store: one SQLite file in WAL mode.
///
/// Writes go through one connection on one thread and reads through another, so a
/// long query never holds up a commit (WAL lets readers see the last commit while
/// the writer works). A commit is made durable by `SQLiteLogFlusher` on a thread of its own,
/// which is what an acknowledgement waits for, while the writer goes on to the next batch.
public final class SQLiteStore: TreeReadingStore, EventStore, ReportRunning {
    public let path: String
    let writer: Worker<SQLiteWriterState>
    private let readers: WorkerPool<SQLiteReaderState>
    private let checkpointer: SQLiteCheckpointer
    private let flusher: SQLiteLogFlusher
    /// Nil for a store opened with a catalog that stops before the filters (migration 8).
    private let filterBuilder: SQLiteSegmentFilterBuilder?
    /// The segments' filters this store holds, which its readers' lookups consult.
    let segmentFilters: SQLiteSegmentFilters
    /// Held from open to close: one daemon per file. Nil for a store opened as one of several writers.
    private let lock: ExclusiveFileLock?
    /// Hashes the tree's leaves beside the writer, once a log is open.
    private let leafHasher = LeafHasher()

    public var description: String { "sqlite:\(self.path)" }

    /// Opens (creating if needed) the database and brings its schema up to date.
    ///
    /// - Parameters:
    ///   - createsDirectory: whether a missing data directory is made; ledgerd makes only its default one.
    ///   - exclusive: whether this store must be the file's only writer, as a daemon's is. Off only for
    ///     `ledger-bench seed-path`, which imitates the services of the Python ledger writing the file directly.
    public convenience init(
        path: String, migrations: MigrationCatalog? = nil, limits: StoreReadLimits = StoreReadLimits(),
        createsDirectory: Bool = true, exclusive: Bool = true, logger: Logger = Logger(label: "ledger.store.sqlite")
    ) async throws(StoreError) {
        try await self.init(
            path: path, migrations: migrations, checkpoints: SQLiteCheckpointer.Policy(), limits: limits, createsDirectory: createsDirectory,
            exclusive: exclusive, logger: logger)
    }

    init(
        path: String, migrations: MigrationCatalog?, checkpoints: SQLiteCheckpointer.Policy, limits: StoreReadLimits = StoreReadLimits(),
        createsDirectory: Bool = true, exclusive: Bool = true, logger: Logger,
        sync: @escaping SQLiteLogFlusher.Sync = { fdatasync($0) },
        filterBudget: Int = SQLiteSegmentFilters.defaultBudget
    ) async throws(StoreError) {
        self.path = path
        let catalog: MigrationCatalog
        if let migrations {
            catalog = migrations
        } else {
            catalog = try MigrationCatalog.embedded(backend: "sqlite")
        }
        let directory = (path as NSString).deletingLastPathComponent
        do throws(PrivateDirectory.Problem) {
            try PrivateDirectory.prepare(directory.isEmpty ? "." : directory, purpose: "data directory", creating: createsDirectory)
        } catch {
            throw StoreError(code: .invalidConfiguration, message: error.description)
        }
        do throws(ExclusiveFileLock.Refusal) {
            self.lock = exclusive ? try ExclusiveFileLock(path: path + ".lock", guarding: "the SQLite store \(path)") : nil
        } catch {
            throw StoreError(code: .invalidConfiguration, message: error.description)
        }
        try Self.restrictFileModes(path, logger: logger)
        let checkpointer = try await SQLiteCheckpointer(path: path, policy: checkpoints, logger: logger)
        self.checkpointer = checkpointer
        let filters = SQLiteSegmentFilters(budget: filterBudget)
        self.segmentFilters = filters
        let (segmentsFinished, finishedSegment) = AsyncStream.makeStream(of: Void.self, bufferingPolicy: .bufferingNewest(1))
        do {
            self.writer = try await Worker(name: "ledger-sqlite-writer") { () throws(StoreError) in
                let connection = try SQLiteConnection(path: path, vfs: SQLiteLogWriteVFS.register())
                try connection.execute("PRAGMA journal_mode=WAL", as: .unavailable)
                // Commits are written but not synced; the flusher syncs them, beside the next commit.
                try connection.execute("PRAGMA synchronous=NORMAL", as: .unavailable)
                // Three of the indexes take random keys (job, clip and entity ids), so a group commit touches
                // pages all over them and a cache keeps them from being re-read. Past 16 MiB it bought little
                // throughput for its memory; larger commits paid more (BENCHMARKS.md, group commit defaults).
                try connection.execute("PRAGMA cache_size=-16384", as: .unavailable)
                connection.watchWAL()
                try SQLiteMigrator(connection: connection).migrate(catalog, logger: logger)
                let state = try SQLiteWriterState(
                    connection: connection, checkpointer: checkpointer, files: SQLiteFileWatch(path: path), filters: filters,
                    finishedSegment: finishedSegment)
                try state.loadFilters()
                return state
            }
        } catch {
            await checkpointer.shutdown()
            throw error
        }
        do {
            let lastSequence = try await self.writer.run { (state: SQLiteWriterState) throws(StoreError) in try state.lastSequence() }
            self.flusher = try await SQLiteLogFlusher(path: path, lastSequence: lastSequence, logger: logger, sync: sync)
        } catch {
            await self.writer.shutdown()
            await checkpointer.shutdown()
            throw error
        }
        do {
            self.readers = try await WorkerPool(name: "ledger-sqlite-reader", count: limits.readers) { () throws(StoreError) in
                let connection = try SQLiteConnection(path: path)
                try connection.execute("PRAGMA query_only=ON", as: .unavailable)
                try connection.execute("PRAGMA cache_size=-16384", as: .unavailable)
                try connection.provideSegments(filters)
                let budget = limits.queryTimeout.map(SQLiteQueryBudget.init(timeout:))
                if let budget { connection.limitQueries(by: budget) }
                return SQLiteReaderState(connection: connection, budget: budget)
            }
        } catch {
            await self.flusher.shutdown()
            await self.writer.shutdown()
            await checkpointer.shutdown()
            throw error
        }
        let writer = self.writer
        do {
            let filtered = try await writer.run { (state: SQLiteWriterState) throws(StoreError) in state.hasFilters }
            self.filterBuilder = !filtered ? nil : try await SQLiteSegmentFilterBuilder(
                path: path, filters: filters, finished: segmentsFinished, wake: finishedSegment,
                writer: { change throws(StoreError) in try await writer.run(change) }, logger: logger)
        } catch {
            await self.readers.shutdown()
            await self.flusher.shutdown()
            await self.writer.shutdown()
            await checkpointer.shutdown()
            throw error
        }
    }

    public func insert(requests: [[LedgerEvent]]) async throws(StoreError) -> [Int64?] {
        let commit = try await self.commit(requests: requests)
        try await commit.waitUntilDurable()
        return commit.sequences
    }

    public func commit(requests: [[LedgerEvent]]) async throws(StoreError) -> StoreCommit {
        try await self.commit(requests: requests, leaves: [])
    }

    public func commit(requests: [[LedgerEvent]], leaves: [[LeafPrefix]]) async throws(StoreError) -> StoreCommit {
        let flusher = self.flusher
        let leaves = LeafPrefix.joined(leaves, fitting: requests)
        // Joined here rather than on the writer's thread, whose time every acknowledgement waits for.
        let events = requests.count == 1 ? requests[0] : Array(requests.joined())
        let (sequences, number) = try await self.writer.run { (state: SQLiteWriterState) throws(StoreError) -> ([Int64?], Int64) in
            try flusher.checkUsable()
            // Before, as a commit into a log cut short would write past its end and hide the cut; and after.
            let before = state.files.problem()
            let sequences = before == nil ? try state.insert(events, leaves: leaves) : []
            if let problem = before ?? state.files.problem() {
                throw flusher.failFilesChanged(
                    problem, consequence: "what it commits now would be lost, so no more events are taken until ledgerd restarts")
            }
            guard state.connection.logIsWritten else {
                throw flusher.fail(
                    StoreError(
                        code: .writeFailed,
                        message: """
                            SQLite finished a commit with part of it not yet written to \(self.path)-wal; \
                            no more events are taken until ledgerd restarts
                            """))
            }
            // Counted even when every id was a duplicate: its first commit may be the one not yet on disk.
            // Numbers ascend through the batch, so the last one given is the highest.
            return (sequences, flusher.committed(lastSequence: sequences.lazy.compactMap { $0 }.last ?? 0))
        }
        return StoreCommit(sequences: sequences) { () throws(StoreError) in
            try await flusher.flush(through: number)
        }
    }

    public func events(afterSequence sequence: Int64, matching filter: EventFilter, limit: Int) async throws(StoreError) -> [LedgerEvent] {
        try await self.read { (state: SQLiteReaderState) throws(StoreError) -> [LedgerEvent] in
            var sql = self.visibleSQL(filter)
            sql.add(afterSequence: sequence)
            return try Self.events(state, Self.selectColumns + sql.whereClause + " ORDER BY seq LIMIT \(limit)", sql.values)
        }
    }

    /// Runs a read on the least busy reader, within the query budget when there is one.
    private func read<Result: Sendable>(
        _ body: @escaping @Sendable (SQLiteReaderState) throws(StoreError) -> Result
    ) async throws(StoreError) -> Result {
        try await self.readers.run { (state: SQLiteReaderState) throws(StoreError) -> Result in
            guard let budget = state.budget else { return try body(state) }
            budget.begin()
            defer { budget.end() }
            do throws(StoreError) {
                return try body(state)
            } catch where budget.expired {
                throw StoreError(
                    code: .timedOut,
                    message: "the query ran longer than \(budget.timeout) (--query-timeout) and was stopped; narrow its filter")
            }
        }
    }

    /// The filter's conditions, held to the events the flusher has made durable.
    private func visibleSQL(_ filter: EventFilter) -> EventQuerySQL {
        var sql = Self.filterSQL(filter)
        sql.add(throughSequence: self.flusher.visibleSequence)
        return sql
    }

    /// The filter's conditions as SQLite plans them well: no index chosen by an event type beside an
    /// id, and the segments named for a lookup by entity, job or clip.
    static func filterSQL(_ filter: EventFilter) -> EventQuerySQL {
        EventQuerySQL(filter: filter, placeholder: { _ in "?" }, unindexed: EventQuerySQL.sqliteUnindexed, segments: { SQLiteSegments.among(nil, $0) })
    }

    static let selectColumns = "SELECT \(EventColumns.list()) FROM ledger_events"

    /// The database is created 0600, and SQLite gives its `-wal` and `-shm` the database's mode. An
    /// existing file that others may read has their access taken away (a group an operator gave
    /// access to keeps it): the socket's mode and `--allow-uid` mean nothing if the file is readable.
    static func restrictFileModes(_ path: String, logger: Logger) throws(StoreError) {
        let created = open(path, O_CREAT | O_EXCL | O_WRONLY | O_CLOEXEC, 0o600)
        if created >= 0 {
            Foundation.close(created)
            return
        }
        guard errno == EEXIST else {
            throw StoreError(code: .unavailable, message: "cannot create \(path): \(String(cString: strerror(errno)))")
        }
        for file in [path, path + "-wal", path + "-shm"] {
            var info = stat()
            guard stat(file, &info) == 0, info.st_mode & 0o007 != 0 else { continue }
            guard chmod(file, info.st_mode & 0o770) == 0 else {
                throw StoreError(
                    code: .unavailable, message: "\(file) is readable by every user and its mode cannot be changed: \(String(cString: strerror(errno)))")
            }
            logger.notice(
                "took other users' access away from the ledger's file",
                metadata: ["file": "\(file)", "mode": "\(String(info.st_mode & 0o777, radix: 8)) -> \(String(info.st_mode & 0o770, radix: 8))"])
        }
    }

    public func query(_ request: QueryRequest) async throws(StoreError) -> EventsResult {
        try await self.read { (state: SQLiteReaderState) throws(StoreError) -> EventsResult in
            var sql = self.visibleSQL(request.filter)
            if let cursor = request.after { sql.add(after: cursor, order: request.order) }
            let text = Self.selectColumns + sql.whereClause + EventQuerySQL.orderClause(request.order) + " LIMIT \(UInt64(request.limit) + 1)"
            return EventsResult(rows: try Self.events(state, text, sql.values), limit: request.limit)
        }
    }

    public func count(_ filter: EventFilter) async throws(StoreError) -> UInt64 {
        try await self.read { (state: SQLiteReaderState) throws(StoreError) -> UInt64 in
            let sql = self.visibleSQL(filter)
            let statement = try state.connection.prepare("SELECT count(*) FROM ledger_events" + sql.whereClause)
            statement.bind(sql.values.map(SQLiteStatement.Value.init))
            guard try statement.step(as: .queryFailed) else { return 0 }
            return UInt64(statement.integer(0))
        }
    }

    public func timeline(_ request: TimelineRequest) async throws(StoreError) -> EventsResult {
        try await self.read { (state: SQLiteReaderState) throws(StoreError) -> EventsResult in
            // Numbered placeholders: the timeline's condition uses some of its values twice.
            var sql = EventQuerySQL(filter: EventFilter(), placeholder: { "?\($0)" })
            sql.add(throughSequence: self.flusher.visibleSequence)
            ReportSQL.addTimeline(request, to: &sql, dialect: .sqlite(visibleThrough: self.flusher.visibleSequence))
            let text = Self.selectColumns + sql.whereClause + EventQuerySQL.orderClause(.oldestFirst) + " LIMIT \(UInt64(request.limit) + 1)"
            return EventsResult(rows: try Self.events(state, text, sql.values), limit: request.limit)
        }
    }

    /// The events a SELECT of `selectColumns` returns.
    private static func events(_ state: SQLiteReaderState, _ text: String, _ values: [EventQuerySQL.Value]) throws(StoreError) -> [LedgerEvent] {
        let statement = try state.connection.prepare(text)
        statement.bind(values.map(SQLiteStatement.Value.init))
        var events: [LedgerEvent] = []
        while try statement.step(as: .queryFailed) {
            events.append(try EventColumns.event(from: SQLiteRow(statement: statement)))
        }
        return events
    }

    /// Runs a report's statements on one reader, each row's cells as text.
    func report<Result: Sendable>(
        _ body: @escaping @Sendable (inout ReportSQL, ReportSQL.Run) throws(StoreError) -> Result
    ) async throws(StoreError) -> Result {
        try await self.read { (state: SQLiteReaderState) throws(StoreError) -> Result in
            var sql = ReportSQL(.sqlite(visibleThrough: self.flusher.visibleSequence))
            return try body(&sql) { (text: String, values: [EventQuerySQL.Value]) throws(StoreError) -> ReportSQL.Rows in
                let statement = try state.connection.prepare(text)
                statement.bind(values.map(SQLiteStatement.Value.init))
                var rows: ReportSQL.Rows = []
                let columns = statement.columnCount
                while try statement.step(as: .queryFailed) {
                    rows.append((0..<columns).map { statement.text(Int32($0)) })
                }
                return rows
            }
        }
    }

    public func expirySummary(_ selection: ExpirySelection, countingUpTo cap: UInt64?) async throws(StoreError) -> ExpirySummary {
        let sql = selection.sql(after: nil, placeholder: { _ in "?" })
        let (conditions, values) = (sql.whereClause, sql.values.map(SQLiteStatement.Value.init))
        @Sendable func summary(_ statementSQL: String, on state: SQLiteReaderState) throws(StoreError) -> ExpirySummary {
            let statement = try state.connection.prepare(statementSQL)
            statement.bind(values)
            guard try statement.step(as: .queryFailed) else { return ExpirySummary(events: 0, oldest: nil, newest: nil) }
            func timestamp(_ column: Int32) -> LedgerTimestamp? {
                Int(column) < statement.columnCount && !statement.isNull(column) ? LedgerTimestamp(rawValue: statement.integer(column)) : nil
            }
            return ExpirySummary(events: UInt64(statement.integer(0)), oldest: timestamp(1), newest: timestamp(2))
        }
        guard let cap else {
            // A pass's own count walks every expired event: background work, on a reader but outside the budget.
            return try await self.readers.run { (state: SQLiteReaderState) throws(StoreError) -> ExpirySummary in
                try summary("SELECT count(*), min(timestamp), max(timestamp) FROM ledger_events" + conditions, on: state)
            }
        }
        return try await self.read { (state: SQLiteReaderState) throws(StoreError) -> ExpirySummary in
            try summary("SELECT count(*) FROM (SELECT 1 FROM ledger_events" + conditions + " LIMIT \(cap + 1))", on: state)
        }
    }

    public func expire(_ selection: ExpirySelection, after cursor: EventCursor?, limit: Int) async throws(StoreError) -> ExpiryProgress {
        let flusher = self.flusher
        let writer = self.writer
        return try await writer.run { (state: SQLiteWriterState) throws(StoreError) -> ExpiryProgress in
            try flusher.checkUsable()
            if let problem = state.files.problem() {
                throw flusher.failFilesChanged(problem, consequence: "no more changes are made until ledgerd restarts")
            }
            // A commit that arrives during the slice waits for a millisecond of finding rows and one of
            // removing them at most, not the whole slice.
            return try state.expire(
                selection, after: cursor, limit: limit,
                until: { since in writer.othersWaiting && since.duration(to: .now) >= Self.sliceBeforeYielding })
        }
    }

    /// How long a retention slice finds rows, and then removes them, before it lets a waiting commit in. Not less: beside
    /// steady ingest a commit is nearly always waiting, and slices that yielded after one row removed
    /// 170 to 270 events/s beside 1,500 acked events/s (a purge of ten million would take half a day);
    /// with the whole slice (2-6 ms) an ack's p99 doubled (BENCHMARKS.md, purge).
    static let sliceBeforeYielding: Duration = .milliseconds(1)

    public func reclaimSpace() async throws(StoreError) -> Bool {
        try await self.writer.run { (state: SQLiteWriterState) throws(StoreError) -> Bool in try state.reclaimSpace() }
    }

    public var counters: [StatsResult.Counter] {
        self.flusher.counters + self.segmentFilters.counters
    }

    public func latestSequence() async throws(StoreError) -> Int64 {
        self.flusher.visibleSequence
    }

    /// A failed sync, or files replaced behind the daemon's back, leave the store refusing writes.
    public func checkHealth() async throws(StoreError) {
        try self.flusher.checkUsable()
    }

    public func openLog(_ key: LogPublicKey) async throws(StoreError) -> UInt64 {
        let hasher = self.leafHasher
        return try await self.writer.run { (state: SQLiteWriterState) throws(StoreError) -> UInt64 in try state.openLog(key, hasher: hasher) }
    }

    public func treeState() async throws(StoreError) -> LogTreeState? {
        let state = try await self.writer.run { (state: SQLiteWriterState) throws(StoreError) -> (LogTreeState, Int64)? in
            guard let tree = state.tree else { return nil }
            return (LogTreeState(logID: tree.logID, frontier: tree.frontier), tree.lastSequence)
        }
        guard let (tree, sequence) = state else { return nil }
        // A head may only sign leaves that outlive a crash.
        try await self.flusher.flush(through: sequence)
        return tree
    }

    public func storeHead(_ head: SignedTreeHead) async throws(StoreError) {
        try await self.writer.run { (state: SQLiteWriterState) throws(StoreError) in try state.storeHead(head) }
    }

    public func removeHeads(sizes: [UInt64]) async throws(StoreError) {
        guard !sizes.isEmpty else { return }
        try await self.writer.run { (state: SQLiteWriterState) throws(StoreError) in try state.removeHeads(sizes: sizes) }
    }

    /// The daemon's own reads of its logs (`prove`) share the reader pool and the query budget,
    /// so a client asking for proofs in a loop takes no more from the others than one running queries.
    public func treeSource() async throws(StoreError) -> (any TreeSource)? {
        SQLiteTreeReader(store: self)
    }

    /// A tree read on a reader, within the query budget; a step the budget interrupted is `timedOut`.
    func readTree<Value: Sendable>(_ body: @escaping @Sendable (SQLiteConnection) throws -> Value) async throws -> Value {
        let outcome = try await self.read { (state: SQLiteReaderState) throws(StoreError) -> Result<Value, any Error> in
            do {
                return .success(try body(state.connection))
            } catch let error as StoreError {
                throw error
            } catch {
                return .failure(error)
            }
        }
        return try outcome.get()
    }

    /// Builds the filter of every finished segment without one, now, as the builder does in the background.
    func buildSegmentFilters() async throws(StoreError) {
        try await self.filterBuilder?.buildNow()
    }

    public func close() async {
        await self.filterBuilder?.shutdown()
        await self.writer.shutdown()
        await self.leafHasher.shutdown()
        await self.flusher.shutdown()
        await self.readers.shutdown()
        await self.checkpointer.shutdown()
        self.lock?.release()
    }
}

extension SQLiteStatement.Value {
    init(_ value: EventQuerySQL.Value) {
        switch value {
        case .text(let text): self = .text(text)
        case .integer(let integer): self = .integer(integer)
        }
    }
}

/// The writer's connection and its prepared insert, confined to the writer's thread.
final class SQLiteWriterState {
    let connection: SQLiteConnection
    private let insertStatement: SQLiteStatement
    private let checkpointer: SQLiteCheckpointer
    /// The writer's watch on its files.
    let files: SQLiteFileWatch
    private let filters: SQLiteSegmentFilters
    /// Whether the schema has the segments' filters (migration 8), known once they are loaded.
    private(set) var hasFilters = false
    /// Told when a commit leaves a segment behind, for its filter to be built.
    private let finishedSegment: AsyncStream<Void>.Continuation
    /// The tree of the daemon's log, when the store keeps one.
    private(set) var tree: SQLiteLogTree?

    init(
        connection: SQLiteConnection, checkpointer: SQLiteCheckpointer, files: SQLiteFileWatch, filters: SQLiteSegmentFilters,
        finishedSegment: AsyncStream<Void>.Continuation
    ) throws(StoreError) {
        self.connection = connection
        self.checkpointer = checkpointer
        self.files = files
        self.filters = filters
        self.finishedSegment = finishedSegment
        let placeholders = Array(repeating: "?", count: EventColumns.count).joined(separator: ", ")
        self.insertStatement = try connection.prepare(
            "INSERT INTO ledger_events (\(EventColumns.list())) VALUES (\(placeholders)) ON CONFLICT (id) DO NOTHING", as: .writeFailed)
    }

    /// In one transaction, on the log this daemon signs for.
    func removeHeads(sizes: [UInt64]) throws(StoreError) {
        if let problem = self.files.problem() { throw StoreError(code: .unavailable, message: problem) }
        guard let logID = self.tree?.logID else { return }
        try self.connection.execute("BEGIN IMMEDIATE", as: .writeFailed)
        do throws(StoreError) {
            let delete = try self.connection.prepare("DELETE FROM ledger_tree_heads WHERE log_id = ? AND size = ?", as: .writeFailed)
            defer { delete.reset() }
            for size in sizes {
                delete.bind(1, blob: logID)
                delete.bind(2, integer: Int64(clamping: size))
                _ = try delete.step(as: .writeFailed)
                delete.reset()
            }
            try self.connection.execute("COMMIT", as: .writeFailed)
        } catch {
            try? self.connection.execute("ROLLBACK", as: .writeFailed)
            throw error
        }
    }

    func storeHead(_ head: SignedTreeHead) throws(StoreError) {
        if let problem = self.files.problem() { throw StoreError(code: .unavailable, message: problem) }
        let insert = try self.connection.prepare(
            "INSERT OR IGNORE INTO ledger_tree_heads (log_id, size, root, timestamp, signature) VALUES (?, ?, ?, ?, ?)", as: .writeFailed)
        defer { insert.reset() }
        insert.bind(1, blob: head.logID)
        insert.bind(2, integer: Int64(head.treeSize))
        insert.bind(3, blob: head.rootHash)
        insert.bind(4, integer: head.timestamp.rawValue)
        insert.bind(5, blob: head.signature)
        _ = try insert.step(as: .writeFailed)
    }

    /// Whether the schema has retention's tombstones (migration 9); a store opened with an older catalog has not.
    private lazy var hasTombstones: Bool = {
        guard let table = try? self.connection.prepare(
            "SELECT count(*) FROM sqlite_master WHERE type = 'table' AND name = 'ledger_tree_tombstones'", as: .unavailable)
        else { return false }
        defer { table.reset() }
        return ((try? table.step(as: .unavailable)) ?? false) && table.integer(0) == 1
    }()

    /// Keeps the tree of `key`'s log from the next commit on, hashing its leaves with `hasher`; the
    /// first log of the file first adopts the events stored before it. Returns how many it adopted.
    func openLog(_ key: LogPublicKey, hasher: LeafHasher) throws(StoreError) -> UInt64 {
        try self.connection.execute("BEGIN IMMEDIATE", as: .unavailable)
        do throws(StoreError) {
            let tree = try SQLiteLogTree(key: key, connection: self.connection, hasher: hasher)
            let adopted: UInt64
            do throws(StoreError) { adopted = try tree.adoptEarlierEvents(on: self.connection) } catch { throw LogAdoption.failed(error) }
            try self.connection.execute("COMMIT", as: .unavailable)
            self.tree = tree
            return adopted
        } catch {
            try? self.connection.execute("ROLLBACK")
            throw error
        }
    }

    /// - Parameter leaves: each event's `LeafPrefix`, in step with `events`, or none.
    func insert(_ events: [LedgerEvent], leaves: [LeafPrefix] = []) throws(StoreError) -> [Int64?] {
        let insert = self.insertStatement
        // Before this batch rather than after the last, so that the last one's acks never wait for a checkpoint.
        self.checkpointer.betweenCommits(on: self.connection)
        try self.connection.execute("BEGIN IMMEDIATE")
        var sequences: [Int64?] = []
        sequences.reserveCapacity(events.count)
        do {
            // Read inside the write lock, so two daemons on one file still number commits in order.
            var next = try self.lastSequence() + 1
            let first = next
            // A segment with a filter takes events again only if the newest events were removed by
            // hand; its filter no longer holds every id in it, so it goes, in this commit.
            if let newest = self.filters.newestStored, SQLiteSegments.segment(ofSequence: first) <= newest {
                try self.dropFilters(from: SQLiteSegments.segment(ofSequence: first))
            }
            // The leaves are hashed beside the rows, as though each event were stored.
            let foreseen = self.tree?.foresee(events, leaves: leaves, firstSequence: first)
            for event in events {
                insert.reset()
                var row = SQLiteRowBinder(statement: insert)
                EventColumns.write(event, sequence: next, into: &row)
                _ = try insert.step(as: .writeFailed)
                if self.connection.changes == 1 {
                    sequences.append(next)
                    next += 1
                } else {
                    sequences.append(nil)
                }
            }
            insert.reset()
            self.tree?.add(events, sequences: sequences, leaves: leaves, foreseen: foreseen)
            try self.tree?.write()
            try self.connection.execute("COMMIT")
            self.tree?.committed()
            if next > first, SQLiteSegments.segment(ofSequence: first - 1) < SQLiteSegments.segment(ofSequence: next - 1), first > 1 {
                self.finishedSegment.yield()
            }
        } catch {
            insert.reset()
            self.tree?.discard()
            try? self.connection.execute("ROLLBACK")
            throw error
        }
        return sequences
    }

    /// Reads the stored filters into memory, newest first, as many as the budget holds; a filter
    /// of a segment that still takes events (the newest) was left by a store whose newest events
    /// were removed, and goes.
    func loadFilters() throws(StoreError) {
        let table = try self.connection.prepare(
            "SELECT count(*) FROM sqlite_master WHERE type = 'table' AND name = 'ledger_segment_filters'", as: .unavailable)
        self.hasFilters = try table.step(as: .unavailable) && table.integer(0) == 1
        table.reset()
        guard self.hasFilters else { return }
        let newest = SQLiteSegments.segment(ofSequence: try self.lastSequence())
        var stale = false
        let statement = try self.connection.prepare("SELECT segment, bits FROM ledger_segment_filters ORDER BY segment DESC", as: .unavailable)
        while try statement.step(as: .unavailable) {
            let segment = statement.integer(0)
            if segment >= newest {
                stale = true
            } else if let filter = SQLiteSegmentFilter(bytes: statement.blob(1)) {
                self.filters.add(filter, segment: segment)
            }
        }
        statement.reset()
        guard stale else { return }
        try self.connection.execute("BEGIN IMMEDIATE", as: .unavailable)
        do throws(StoreError) {
            try self.dropFilters(from: newest)
            try self.connection.execute("COMMIT", as: .unavailable)
        } catch {
            try? self.connection.execute("ROLLBACK")
            throw error
        }
    }

    /// Removes the filters of the segments from `first` on, in the open transaction.
    private func dropFilters(from first: Int64) throws(StoreError) {
        let statement = try self.connection.prepare("DELETE FROM ledger_segment_filters WHERE segment >= ?", as: .writeFailed)
        defer { statement.reset() }
        statement.bind([.integer(first)])
        _ = try statement.step(as: .writeFailed)
        self.filters.remove(first...Int64.max)
    }

    /// Stores a segment's filter and takes it into memory, if the segment is still finished and no
    /// event has landed in it since it was read.
    func store(_ built: SQLiteSegmentFilterBuilder.Built) throws(StoreError) {
        if let problem = self.files.problem() { throw StoreError(code: .unavailable, message: problem) }
        self.checkpointer.betweenCommits(on: self.connection)
        try self.connection.execute("BEGIN IMMEDIATE")
        do throws(StoreError) {
            let sequences = SQLiteSegments.sequences(of: built.segment)
            let newest = try self.connection.prepare(
                "SELECT (SELECT max(seq) FROM ledger_events), (SELECT coalesce(max(seq), 0) FROM ledger_events WHERE seq BETWEEN ? AND ?)",
                as: .writeFailed)
            newest.bind([.integer(sequences.lowerBound), .integer(sequences.upperBound)])
            let stillFinished =
                try newest.step(as: .writeFailed) && SQLiteSegments.segment(ofSequence: newest.integer(0)) > built.segment
                && newest.integer(1) <= built.lastSequence
            newest.reset()
            if stillFinished {
                let insert = try self.connection.prepare(
                    "INSERT OR REPLACE INTO ledger_segment_filters (segment, ids, last_seq, bits) VALUES (?, ?, ?, ?)", as: .writeFailed)
                defer { insert.reset() }
                insert.bind([.integer(built.segment), .integer(Int64(built.keys)), .integer(built.lastSequence)])
                insert.bind(4, blob: built.filter.bytes)
                _ = try insert.step(as: .writeFailed)
            }
            try self.connection.execute("COMMIT")
            if stillFinished { self.filters.add(built.filter, segment: built.segment) }
        } catch {
            try? self.connection.execute("ROLLBACK")
            throw error
        }
    }

    /// Removes the filters of segments retention has emptied.
    func forgetFilters(below segment: Int64) throws(StoreError) {
        let statement = try self.connection.prepare("DELETE FROM ledger_segment_filters WHERE segment < ?", as: .writeFailed)
        defer { statement.reset() }
        statement.bind([.integer(segment)])
        _ = try statement.step(as: .writeFailed)
        self.filters.remove(Int64.min...(segment - 1))
    }

    /// One slice of a retention pass: the selection's oldest events after `cursor`, found and removed
    /// in one transaction. Finding them and removing them each end early, after at least one row,
    /// once `shouldYield` says so, given when that part began.
    func expire(
        _ selection: ExpirySelection, after cursor: EventCursor?, limit: Int,
        until shouldYield: (_ since: ContinuousClock.Instant) -> Bool = { _ in false }
    ) throws(StoreError) -> ExpiryProgress {
        self.checkpointer.betweenCommits(on: self.connection)
        let sql = selection.sql(after: cursor, placeholder: { _ in "?" })
        let select = try self.connection.prepare(
            "SELECT rowid, timestamp, id, seq FROM ledger_events" + sql.whereClause + EventQuerySQL.orderClause(.oldestFirst) + " LIMIT \(limit)",
            as: .writeFailed)
        let delete = try self.connection.prepare("DELETE FROM ledger_events WHERE rowid = ?", as: .writeFailed)
        // The removed event's leaf record stays; its tombstone says which pass took the event.
        let tombstone = try self.hasTombstones
            ? self.connection.prepare("INSERT OR REPLACE INTO ledger_tree_tombstones (seq, retention) VALUES (?, ?)", as: .writeFailed) : nil
        let pass = selection.record?.lowercaseText ?? "unrecorded"
        try self.connection.execute("BEGIN IMMEDIATE")
        do {
            select.bind(sql.values.map(SQLiteStatement.Value.init))
            var rows: [(rowid: Int64, cursor: EventCursor?, sequence: Int64)] = []
            let selecting = ContinuousClock.now
            while rows.isEmpty || !shouldYield(selecting), try select.step(as: .writeFailed) {
                let id = select.text(2).flatMap(UUID.init(uuidString:))
                rows.append(
                    (select.integer(0), id.map { EventCursor(timestamp: LedgerTimestamp(rawValue: select.integer(1)), id: $0) }, select.integer(3)))
            }
            select.reset()
            var removed = 0
            var last: EventCursor?
            let removing = ContinuousClock.now
            for row in rows {
                if removed > 0, shouldYield(removing) { break }
                delete.reset()
                delete.bind([.integer(row.rowid)])
                _ = try delete.step(as: .writeFailed)
                if let tombstone {
                    tombstone.reset()
                    tombstone.bind([.integer(row.sequence), .text(pass)])
                    _ = try tombstone.step(as: .writeFailed)
                }
                removed += 1
                last = row.cursor ?? last
            }
            delete.reset()
            tombstone?.reset()
            try self.connection.execute("COMMIT")
            return ExpiryProgress(removed: removed, last: last)
        } catch {
            select.reset()
            delete.reset()
            tombstone?.reset()
            try? self.connection.execute("ROLLBACK")
            throw error
        }
    }

    /// Pages per slice of incremental vacuum: 8 MiB of 4 KiB pages, a short write.
    static let reclaimPages = 2_048

    /// Truncates free pages off the end of the file, a slice at a time, when the file was created for
    /// it (auto_vacuum is fixed when a file is made, and ledgerd makes new files incremental, so
    /// retention's space goes back without a VACUUM); an older file keeps its free pages and fills
    /// them before it grows.
    func reclaimSpace() throws(StoreError) -> Bool {
        func value(_ pragma: String) throws(StoreError) -> Int64 {
            let statement = try self.connection.prepare("PRAGMA \(pragma)", as: .writeFailed)
            defer { statement.reset() }
            return try statement.step(as: .writeFailed) ? statement.integer(0) : 0
        }
        guard try value("auto_vacuum") == 2, try value("freelist_count") > 0 else { return false }
        self.checkpointer.betweenCommits(on: self.connection)
        self.files.allowDatabaseToShrink()
        try self.connection.execute("PRAGMA incremental_vacuum(\(Self.reclaimPages))")
        return try value("freelist_count") > 0
    }

    func lastSequence() throws(StoreError) -> Int64 {
        let statement = try self.connection.prepare("SELECT coalesce(max(seq), 0) FROM ledger_events", as: .writeFailed)
        defer { statement.reset() }
        guard try statement.step(as: .writeFailed) else { return 0 }
        return statement.integer(0)
    }
}
