import Logging

/// Builds the filter of each segment ingest has finished with, on a thread and connection of its
/// own, and stores it through the writer.
///
/// A segment is finished once an event of a later one is stored: sequences only grow, so nothing
/// lands in it again (the writer drops a filter if anything ever does). Its ids are read from its
/// part of the four indexes, a few hundred thousand entries in key order, which takes a fraction of
/// a second; a store opened with segments and no filters (one just migrated) builds them newest
/// first, in the background, seeking every segment without one meanwhile.
final class SQLiteSegmentFilterBuilder: Sendable {
    /// A segment's filter as read, with what the writer checks before storing it.
    struct Built: Sendable {
        var segment: Int64
        var filter: SQLiteSegmentFilter
        var keys: Int
        /// The newest event of the segment when it was read: the writer stores the filter only if
        /// none newer has landed in the segment since.
        var lastSequence: Int64
    }

    /// How the store runs a change on its writer.
    typealias Writer = @Sendable (_ change: @escaping @Sendable (SQLiteWriterState) throws(StoreError) -> Void) async throws(StoreError) -> Void

    private let worker: Worker<SQLiteConnection>
    private let filters: SQLiteSegmentFilters
    private let writer: Writer
    private let logger: Logger
    private let task: Task<Void, Never>
    private let wake: AsyncStream<Void>.Continuation

    /// - Parameter finished: yields when a commit leaves a segment behind; the builder then looks for work.
    init(
        path: String, filters: SQLiteSegmentFilters, finished: AsyncStream<Void>, wake: AsyncStream<Void>.Continuation, writer: @escaping Writer,
        logger: Logger
    ) async throws(StoreError) {
        let worker = try await Worker(name: "ledger-sqlite-filters") { () throws(StoreError) in
            let connection = try SQLiteConnection(path: path)
            try connection.execute("PRAGMA query_only=ON", as: .unavailable)
            return connection
        }
        self.worker = worker
        self.filters = filters
        self.writer = writer
        self.logger = logger
        self.wake = wake
        self.task = Task {
            for await _ in finished {
                do throws(StoreError) {
                    try await Self.pass(worker: worker, filters: filters, writer: writer, logger: logger)
                } catch where error.code == .closed || error.code == .cancelled {
                    return
                } catch {
                    // The next finished segment tries again; lookups seek the segments without filters meanwhile.
                    logger.warning("could not build a segment filter", metadata: ["error": "\(error)"])
                }
            }
        }
        wake.yield()
    }

    /// Builds the filter of every finished segment without one, newest first, and forgets the
    /// filters of segments retention has emptied.
    private static func pass(worker: Worker<SQLiteConnection>, filters: SQLiteSegmentFilters, writer: Writer, logger: Logger) async throws(StoreError) {
        guard
            let (oldest, newest) = try await worker.run({ (connection: SQLiteConnection) throws(StoreError) -> (Int64, Int64)? in
                try Self.bounds(on: connection)
            })
        else { return }
        if let emptied = filters.storedSegments.first, emptied < oldest {
            try await writer { (state: SQLiteWriterState) throws(StoreError) in try state.forgetFilters(below: oldest) }
        }
        for segment in (oldest..<newest).reversed() where !filters.isStored(segment) {
            guard !Task.isCancelled else { return }
            let started = ContinuousClock.now
            let built = try await worker.run { (connection: SQLiteConnection) throws(StoreError) -> Built in
                try Self.build(segment, on: connection)
            }
            try await writer { (state: SQLiteWriterState) throws(StoreError) in try state.store(built) }
            logger.debug(
                "built a segment filter",
                metadata: ["segment": "\(segment)", "ids": "\(built.keys)", "bytes": "\(built.filter.byteCount)", "took": "\(started.duration(to: .now))"])
        }
    }

    /// The segments of the oldest and newest stored events; nil for an empty store.
    static func bounds(on connection: SQLiteConnection) throws(StoreError) -> (Int64, Int64)? {
        let statement = try connection.prepare("SELECT (SELECT min(seq) FROM ledger_events), (SELECT max(seq) FROM ledger_events)")
        defer { statement.reset() }
        guard try statement.step(as: .queryFailed), !statement.isNull(0), !statement.isNull(1) else { return nil }
        return (SQLiteSegments.segment(ofSequence: statement.integer(0)), SQLiteSegments.segment(ofSequence: statement.integer(1)))
    }

    /// The ids of the segment's events, read from its part of each index in key order. A segment
    /// with none (emptied by retention) gets an empty filter, which no lookup seeks.
    static func build(_ segment: Int64, on connection: SQLiteConnection) throws(StoreError) -> Built {
        let sequences = SQLiteSegments.sequences(of: segment)
        let last = try connection.prepare("SELECT coalesce(max(seq), 0) FROM ledger_events WHERE seq BETWEEN ? AND ?")
        last.bind([.integer(sequences.lowerBound), .integer(sequences.upperBound)])
        let lastSequence = try last.step(as: .queryFailed) ? last.integer(0) : 0
        last.reset()
        // Hashes, not the ids: a link is any text a client put in its metadata, and a segment's
        // reader holds no more than eight bytes for each of them.
        var ids = Set<UInt64>()
        func read(_ sql: String, column: Int32 = 0) throws(StoreError) {
            let statement = try connection.prepare(sql)
            defer { statement.reset() }
            statement.bind([.integer(segment)])
            while try statement.step(as: .queryFailed) {
                if let id = statement.text(column) { ids.insert(SQLiteSegmentFilter.hash(id)) }
            }
        }
        // Each index's own leading columns (and the link index's expression and condition, migration 6),
        // so that the index alone is read, in order.
        try read("SELECT DISTINCT entity_type, entity_id FROM ledger_events WHERE segment = ?", column: 1)
        try read("SELECT DISTINCT job_id FROM ledger_events WHERE segment = ? AND job_id IS NOT NULL")
        try read("SELECT DISTINCT clip_id FROM ledger_events WHERE segment = ? AND clip_id IS NOT NULL")
        try read("SELECT DISTINCT json_extract(event_data, '$.video_id') FROM ledger_events WHERE segment = ? AND event_type = 'job_created'")
        return Built(segment: segment, filter: SQLiteSegmentFilter(hashes: ids), keys: ids.count, lastSequence: lastSequence)
    }

    /// Runs a pass now, beside any the builder runs itself.
    func buildNow() async throws(StoreError) {
        try await Self.pass(worker: self.worker, filters: self.filters, writer: self.writer, logger: self.logger)
    }

    func shutdown() async {
        self.wake.finish()
        self.task.cancel()
        await self.task.value
        await self.worker.shutdown()
    }
}
