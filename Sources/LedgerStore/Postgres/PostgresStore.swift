import Foundation
import LedgerProtocol
import Logging
import NIOConcurrencyHelpers

/// The production store: PostgreSQL through libpq.
///
/// Writes and reads each have their own connections on their own threads, so a long
/// query never stalls ingest. A large batch is split between two writer connections
/// that copy side by side (`PostgresCopyPair`). A connection that breaks is replaced on its next use;
/// until then calls fail with `StoreError.Code.unavailable`, which the batch writer
/// answers by holding its batch and retrying.
public final class PostgresStore: EventStore {
    public let connectionInfo: PostgresConnectionInfo
    private let writer: Worker<PostgresConnection>
    private let secondWriter: Worker<PostgresConnection>
    private let readers: WorkerPool<PostgresConnection>
    private let queryTimeout: Duration?
    /// Held while a split batch's two jobs are queued, so both writers take split batches in the same order.
    private let pairing = NIOLock()

    public var description: String { self.connectionInfo.description }

    /// Rows per INSERT statement: 12 parameters each, well under libpq's 65,535.
    static let rowsPerStatement = 1_000

    /// A batch of at least this many events, over two requests or more, is split between the two
    /// writers. Batches of about 250 (one event per frame, 512 awaiting acks) gained nothing from it
    /// and cost the daemon more CPU; batches of 1,500 and more gained 40% (BENCHMARKS.md).
    static let splitEvents = 512

    /// Connects, applies migrations under an advisory lock, and opens the query connection.
    public init(
        connectionInfo: PostgresConnectionInfo, migrations: MigrationCatalog? = nil, limits: StoreReadLimits = StoreReadLimits(),
        logger: Logger = Logger(label: "ledger.store.postgres")
    ) async throws(StoreError) {
        self.connectionInfo = connectionInfo
        self.queryTimeout = limits.queryTimeout
        let catalog: MigrationCatalog
        if let migrations {
            catalog = migrations
        } else {
            catalog = try MigrationCatalog.locate(backend: "postgres")
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
            let settings = limits.queryTimeout.map { ["SET statement_timeout = \(max(1, Int($0 / .milliseconds(1))))"] } ?? []
            self.readers = try await WorkerPool(name: "ledger-postgres-reader", count: limits.readers) { () throws(StoreError) in
                try PostgresConnection(info: connectionInfo, settings: settings)
            }
        } catch {
            await self.secondWriter.shutdown()
            await self.writer.shutdown()
            throw error
        }
    }

    /// The requests are joined: COPY takes one stream of rows, so PostgreSQL gains nothing from walking them apart.
    public func insert(requests: [[LedgerEvent]]) async throws(StoreError) -> [Int64?] {
        let total = requests.reduce(0) { $0 + $1.count }
        if total >= Self.splitEvents, let cut = Self.halfway(requests, total: total) {
            let first = Array(requests[..<cut].joined())
            let second = Array(requests[cut...].joined())
            // An id in both halves would have the second wait on the first's row lock while the first
            // waits for the second's copy: such a batch (a retry pipelined behind its original) goes whole.
            if !Self.shareAnID(first, second) {
                return try await self.insertSplit(first, second)
            }
        }
        let events = requests.count == 1 ? requests[0] : Array(requests.joined())
        guard !events.isEmpty else { return [] }
        return try await self.writer.run { (connection: PostgresConnection) throws(StoreError) -> [Int64?] in
            try connection.reconnectIfBroken()
            do throws(StoreError) {
                return try Self.copy(events, on: connection)
            } catch where error.backendCode == Self.uniqueViolation {
                // An id is already stored (a client's retry) or is twice in the batch: nothing of the
                // copy was kept, and the batch goes again through the statement that skips stored ids.
                return try Self.insertSkippingStored(events, on: connection)
            }
        }
    }

    static let uniqueViolation = "23505"

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
    private func insertSplit(_ first: [LedgerEvent], _ second: [LedgerEvent]) async throws(StoreError) -> [Int64?] {
        let pair = PostgresCopyPair()
        let (firstResult, secondResult) = await withCheckedContinuation { continuation in
            let results = PairOfResults<[Int64?], [Int64?]>(continuation)
            self.pairing.withLock {
                self.writer.start({ (connection: PostgresConnection) throws(StoreError) in
                    try Self.copyFirstHalf(first, secondCount: second.count, pair: pair, on: connection)
                }, done: { result in
                    // Also when the job never ran: the second half must not wait for it.
                    if case .failure(let error) = result { pair.firstFailed(error) }
                    results.setFirst(result)
                })
                self.secondWriter.start({ (connection: PostgresConnection) throws(StoreError) in
                    try Self.copySecondHalf(second, pair: pair, on: connection)
                }, done: { result in
                    pair.secondCopied(result.map { _ in () })
                    results.setSecond(result)
                })
            }
        }
        return try firstResult.get() + secondResult.get()
    }

    /// Takes the commit numbers of both halves, copies the first, and commits once the second is copied.
    static func copyFirstHalf(
        _ events: [LedgerEvent], secondCount: Int, pair: PostgresCopyPair, on connection: PostgresConnection
    ) throws(StoreError) -> [Int64?] {
        do {
            try connection.reconnectIfBroken()
            try connection.execute("BEGIN", as: .writeFailed)
            let numbers = try Self.reserveNumbers(events.count + secondCount, on: connection)
            pair.publishSecondNumbers(.success(Array(numbers[events.count...])))
            let sequences = try Self.copyOrInsert(events, sequences: Array(numbers[..<events.count]), on: connection)
            try pair.waitForSecondCopy().get()
            try connection.execute("COMMIT", as: .writeFailed)
            pair.firstCommitted(.success(()))
            return sequences
        } catch {
            _ = try? connection.execute("ROLLBACK", as: .writeFailed)
            pair.firstFailed(error)
            throw error
        }
    }

    /// Copies the second half with the numbers the first took, and commits only after the first did.
    static func copySecondHalf(
        _ events: [LedgerEvent], pair: PostgresCopyPair, on connection: PostgresConnection
    ) throws(StoreError) -> [Int64?] {
        let numbers = try pair.waitForSecondNumbers().get()
        do {
            try connection.reconnectIfBroken()
            try connection.execute("BEGIN", as: .writeFailed)
            let sequences = try Self.copyOrInsert(events, sequences: numbers, on: connection)
            pair.secondCopied(.success(()))
            try pair.waitForFirstCommit().get()
            try connection.execute("COMMIT", as: .writeFailed)
            return sequences
        } catch {
            _ = try? connection.execute("ROLLBACK", as: .writeFailed)
            pair.secondCopied(.failure(error))
            throw error
        }
    }

    /// In the open transaction: the rows by COPY or, when an id is already stored, through the
    /// statement that skips stored ids, in a fresh transaction with the same numbers.
    private static func copyOrInsert(
        _ events: [LedgerEvent], sequences: [Int64], on connection: PostgresConnection
    ) throws(StoreError) -> [Int64?] {
        do throws(StoreError) {
            try Self.copyRows(events, sequences: sequences, on: connection)
            return sequences
        } catch where error.backendCode == Self.uniqueViolation {
            try connection.execute("ROLLBACK", as: .writeFailed)
            try connection.execute("BEGIN", as: .writeFailed)
            return try Self.insertRows(events, sequences: sequences, on: connection)
        }
    }

    /// The next `count` commit numbers; taken outside any transaction's undo, so they ascend in the order taken.
    static func reserveNumbers(_ count: Int, on connection: PostgresConnection) throws(StoreError) -> [Int64] {
        let numbers = try connection.execute(
            "SELECT nextval('ledger_events_seq') FROM generate_series(1, $1::integer)", [String(count)], as: .writeFailed)
        let sequences = (0..<numbers.rowCount).compactMap { numbers.text($0, 0).flatMap { Int64($0) } }
        guard sequences.count == count else {
            throw StoreError(code: .writeFailed, message: "PostgreSQL gave \(sequences.count) sequence numbers for \(count) events")
        }
        return sequences
    }

    static let copyStatement =
        "COPY ledger_events (id, timestamp, event_type, entity_type, entity_id, event_data, severity, worker_id, job_id, clip_id, peer_uid, peer_pid, seq) FROM STDIN (FORMAT binary)"

    /// The fast path: the batch's commit numbers taken from the sequence, then every row in one
    /// binary COPY, which fails as a whole if any id is already stored.
    static func copy(_ events: [LedgerEvent], on connection: PostgresConnection) throws(StoreError) -> [Int64?] {
        try connection.transaction(as: .writeFailed) { () throws(StoreError) -> [Int64?] in
            let sequences = try Self.reserveNumbers(events.count, on: connection)
            try Self.copyRows(events, sequences: sequences, on: connection)
            return sequences
        }
    }

    /// Every row in one binary COPY, with the commit numbers given.
    static func copyRows(_ events: [LedgerEvent], sequences: [Int64], on connection: PostgresConnection) throws(StoreError) {
        var rows = PostgresBinaryCopy(capacity: events.count * 320)
        // The daemon validates timestamps; this keeps the conversion to PostgreSQL's epoch from overflowing whatever the caller.
        if let outside = events.first(where: { !LedgerTimestamp.validRange.contains($0.timestamp ?? LedgerTimestamp(rawValue: 0)) }) {
            throw StoreError(
                code: .writeFailed, message: "event \(outside.id.lowercaseText) has a timestamp outside the ledger's range",
                backendCode: Self.datetimeFieldOverflow)
        }
        for (event, sequence) in zip(events, sequences) {
            rows.startRow(fields: 13)
            rows.append(event.id)
            rows.append(event.timestamp ?? LedgerTimestamp(rawValue: 0))
            rows.append(event.eventType)
            rows.append(event.entityType)
            rows.append(event.entityID)
            rows.append(jsonb: event.metadata.isEmpty ? "{}" : event.metadata)
            rows.append(event.severity.name)
            rows.append(event.workerID)
            rows.append(event.jobID)
            rows.append(event.clipID)
            rows.append(event.peer.map { Int64($0.uid) })
            rows.append(event.peer.map { $0.pid })
            rows.append(sequence)
        }
        try connection.copy(Self.copyStatement, data: rows.finish(), as: .writeFailed)
    }

    /// The path for batches that may hold stored ids: each row checked, the stored ones skipped.
    static func insertSkippingStored(_ events: [LedgerEvent], on connection: PostgresConnection) throws(StoreError) -> [Int64?] {
        try connection.transaction(as: .writeFailed) { () throws(StoreError) -> [Int64?] in
            try Self.insertRows(events, sequences: nil, on: connection)
        }
    }

    /// The rows in the open transaction, stored ids skipped; numbered from the sequence, or with the
    /// numbers given (a split batch's, taken in order before the copy failed).
    static func insertRows(_ events: [LedgerEvent], sequences: [Int64]?, on connection: PostgresConnection) throws(StoreError) -> [Int64?] {
        var assigned: [String: Int64] = [:]
        var start = 0
        while start < events.count {
            let end = min(start + Self.rowsPerStatement, events.count)
            let (sql, parameters) = Self.insert(events[start..<end], sequences: sequences?[start..<end])
            let result = try connection.execute(sql, parameters, as: .writeFailed)
            for row in 0..<result.rowCount {
                if let id = result.text(row, 0), let sequence = result.text(row, 1).flatMap({ Int64($0) }) {
                    assigned[id] = sequence
                }
            }
            start = end
        }
        // An id sent twice in the batch is stored once: its number goes to the first, as the other stores do.
        return events.map { event in assigned.removeValue(forKey: event.id.lowercaseText) }
    }

    /// One INSERT of many rows, an id already stored skipped, so a retried batch is stored once.
    ///
    /// Each column travels as one array parameter and `unnest` turns them back into rows: the
    /// statement is the same whatever the row count, so PostgreSQL parses and plans 12 parameters
    /// rather than 12 per row.
    static func insert(_ events: ArraySlice<LedgerEvent>, sequences: ArraySlice<Int64>? = nil) -> (String, [String?]) {
        let numbered = sequences != nil
        let sql = """
            INSERT INTO ledger_events (id, timestamp, event_type, entity_type, entity_id, event_data, severity, worker_id, job_id, clip_id, peer_uid, peer_pid\(numbered ? ", seq" : ""))
            SELECT * FROM unnest($1::uuid[], $2::timestamptz[], $3::text[], $4::text[], $5::text[], $6::jsonb[], $7::event_severity[],
                                 $8::text[], $9::uuid[], $10::uuid[], $11::bigint[], $12::integer[]\(numbered ? ", $13::bigint[]" : ""))
            ON CONFLICT DO NOTHING RETURNING id::text, seq
            """
        var columns = [PostgresArrayLiteral](repeating: PostgresArrayLiteral(capacity: events.count * 40), count: numbered ? 13 : 12)
        for event in events {
            columns[0].append(event.id.lowercaseText)
            columns[1].append((event.timestamp ?? LedgerTimestamp(rawValue: 0)).iso8601)
            columns[2].append(event.eventType)
            columns[3].append(event.entityType)
            columns[4].append(event.entityID)
            columns[5].append(event.metadata.isEmpty ? "{}" : event.metadata)
            columns[6].append(event.severity.name)
            columns[7].append(event.workerID)
            columns[8].append(event.jobID?.lowercaseText)
            columns[9].append(event.clipID?.lowercaseText)
            columns[10].append(event.peer.map { String($0.uid) })
            columns[11].append(event.peer.map { String($0.pid) })
        }
        for sequence in sequences ?? [] {
            columns[12].append(String(sequence))
        }
        return (sql, columns.map { $0.text })
    }

    public func query(_ request: QueryRequest) async throws(StoreError) -> EventsResult {
        try await self.read { (connection: PostgresConnection) throws(StoreError) -> EventsResult in
            try connection.reconnectIfBroken()
            var sql = Self.filterSQL(request.filter)
            if let cursor = request.after { sql.add(after: cursor, order: request.order) }
            let text = Self.selectColumns + sql.whereClause + EventQuerySQL.orderClause(request.order) + " LIMIT \(UInt64(request.limit) + 1)"
            let result = try connection.execute(text, sql.values.map(\.postgresText), as: .queryFailed)
            var events: [LedgerEvent] = []
            events.reserveCapacity(result.rowCount)
            for row in 0..<result.rowCount {
                events.append(try Self.event(result, row))
            }
            return EventsResult(rows: events, limit: request.limit)
        }
    }

    public func events(afterSequence sequence: Int64, matching filter: EventFilter, limit: Int) async throws(StoreError) -> [LedgerEvent] {
        try await self.read { (connection: PostgresConnection) throws(StoreError) -> [LedgerEvent] in
            try connection.reconnectIfBroken()
            var sql = Self.filterSQL(filter)
            sql.add(afterSequence: sequence)
            let result = try connection.execute(
                Self.selectColumns + sql.whereClause + " ORDER BY seq LIMIT \(limit)", sql.values.map(\.postgresText), as: .queryFailed)
            var events: [LedgerEvent] = []
            for row in 0..<result.rowCount {
                events.append(try Self.event(result, row))
            }
            return events
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

    static let selectColumns = """
        SELECT id::text, (extract(epoch FROM timestamp) * 1000000)::bigint, event_type, entity_type, entity_id,
               event_data::text, severity::text, worker_id, job_id::text, clip_id::text, peer_uid, peer_pid, seq
        FROM ledger_events
        """

    public func count(_ filter: EventFilter) async throws(StoreError) -> UInt64 {
        try await self.read { (connection: PostgresConnection) throws(StoreError) -> UInt64 in
            try connection.reconnectIfBroken()
            let sql = Self.filterSQL(filter)
            let result = try connection.execute(
                "SELECT count(*) FROM ledger_events" + sql.whereClause, sql.values.map(\.postgresText), as: .queryFailed)
            return result.text(0, 0).flatMap { UInt64($0) } ?? 0
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

    public func close() async {
        await self.writer.shutdown()
        await self.secondWriter.shutdown()
        await self.readers.shutdown()
    }

    private static func filterSQL(_ filter: EventFilter) -> EventQuerySQL {
        EventQuerySQL(filter: filter, placeholder: { "$\($0)" }, timestampEncoding: .iso8601(cast: "::timestamptz"), uuidCast: "::uuid")
    }

    private static func event(_ result: PostgresResult, _ row: Int) throws(StoreError) -> LedgerEvent {
        func uuid(_ column: Int) throws(StoreError) -> UUID? {
            guard let text = result.text(row, column) else { return nil }
            guard let uuid = UUID(uuidString: text) else {
                throw StoreError(code: .queryFailed, message: "stored id \(text) is not a UUID")
            }
            return uuid
        }
        guard let id = try uuid(0), let microseconds = result.text(row, 1).flatMap({ Int64($0) }) else {
            throw StoreError(code: .queryFailed, message: "row \(row) has no id or timestamp")
        }
        return LedgerEvent(
            id: id,
            timestamp: LedgerTimestamp(rawValue: microseconds),
            eventType: result.text(row, 2) ?? "",
            entityType: result.text(row, 3) ?? "",
            entityID: result.text(row, 4) ?? "",
            metadata: result.text(row, 5) ?? "{}",
            severity: result.text(row, 6).flatMap(Severity.init(name:)) ?? .info,
            workerID: result.text(row, 7),
            jobID: try uuid(8),
            clipID: try uuid(9),
            peer: result.text(row, 10).flatMap { UInt32($0) }.map { uid in
                PeerCredentials(uid: uid, pid: result.text(row, 11).flatMap { Int32($0) } ?? 0)
            },
            sequence: result.text(row, 12).flatMap { Int64($0) }
        )
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
