import Foundation
import LedgerProtocol
import Logging

/// The production store: PostgreSQL through libpq.
///
/// Writes and reads each have their own connection on their own thread, so a long
/// query never stalls ingest. A connection that breaks is replaced on its next use;
/// until then calls fail with `StoreError.Code.unavailable`, which the batch writer
/// answers by holding its batch and retrying.
public final class PostgresStore: EventStore {
    public let connectionInfo: PostgresConnectionInfo
    private let writer: Worker<PostgresConnection>
    private let reader: Worker<PostgresConnection>

    public var description: String { self.connectionInfo.description }

    /// Rows per INSERT statement: 12 parameters each, well under libpq's 65,535.
    static let rowsPerStatement = 1_000

    /// Connects, applies migrations under an advisory lock, and opens the query connection.
    public init(
        connectionInfo: PostgresConnectionInfo, migrations: MigrationCatalog? = nil, logger: Logger = Logger(label: "ledger.store.postgres")
    ) async throws(StoreError) {
        self.connectionInfo = connectionInfo
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
            self.reader = try await Worker(name: "ledger-postgres-reader") { () throws(StoreError) in
                try PostgresConnection(info: connectionInfo)
            }
        } catch {
            await self.writer.shutdown()
            throw error
        }
    }

    /// The requests are joined: COPY takes one stream of rows, so PostgreSQL gains nothing from walking them apart.
    public func insert(requests: [[LedgerEvent]]) async throws(StoreError) -> [Int64?] {
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

    static let copyStatement =
        "COPY ledger_events (id, timestamp, event_type, entity_type, entity_id, event_data, severity, worker_id, job_id, clip_id, peer_uid, peer_pid, seq) FROM STDIN (FORMAT binary)"

    /// The fast path: the batch's commit numbers taken from the sequence, then every row in one
    /// binary COPY, which fails as a whole if any id is already stored.
    static func copy(_ events: [LedgerEvent], on connection: PostgresConnection) throws(StoreError) -> [Int64?] {
        try connection.transaction(as: .writeFailed) { () throws(StoreError) -> [Int64?] in
            let numbers = try connection.execute(
                "SELECT nextval('ledger_events_seq') FROM generate_series(1, $1::integer)", [String(events.count)], as: .writeFailed)
            let sequences = (0..<numbers.rowCount).compactMap { numbers.text($0, 0).flatMap { Int64($0) } }
            guard sequences.count == events.count else {
                throw StoreError(
                    code: .writeFailed, message: "PostgreSQL gave \(sequences.count) sequence numbers for \(events.count) events")
            }
            var rows = PostgresBinaryCopy(capacity: events.count * 320)
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
            return sequences
        }
    }

    /// The path for batches that may hold stored ids: each row checked, the stored ones skipped.
    static func insertSkippingStored(_ events: [LedgerEvent], on connection: PostgresConnection) throws(StoreError) -> [Int64?] {
        try connection.transaction(as: .writeFailed) { () throws(StoreError) -> [Int64?] in
            var assigned: [String: Int64] = [:]
            var start = 0
            while start < events.count {
                let end = min(start + Self.rowsPerStatement, events.count)
                let (sql, parameters) = Self.insert(events[start..<end])
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
    }

    /// One INSERT of many rows, an id already stored skipped, so a retried batch is stored once.
    ///
    /// Each column travels as one array parameter and `unnest` turns them back into rows: the
    /// statement is the same whatever the row count, so PostgreSQL parses and plans 12 parameters
    /// rather than 12 per row.
    static func insert(_ events: ArraySlice<LedgerEvent>) -> (String, [String?]) {
        let sql = """
            INSERT INTO ledger_events (id, timestamp, event_type, entity_type, entity_id, event_data, severity, worker_id, job_id, clip_id, peer_uid, peer_pid)
            SELECT * FROM unnest($1::uuid[], $2::timestamptz[], $3::text[], $4::text[], $5::text[], $6::jsonb[], $7::event_severity[],
                                 $8::text[], $9::uuid[], $10::uuid[], $11::bigint[], $12::integer[])
            ON CONFLICT DO NOTHING RETURNING id::text, seq
            """
        var columns = [PostgresArrayLiteral](repeating: PostgresArrayLiteral(capacity: events.count * 40), count: 12)
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
        return (sql, columns.map { $0.text })
    }

    public func query(_ request: QueryRequest) async throws(StoreError) -> EventsResult {
        try await self.reader.run { (connection: PostgresConnection) throws(StoreError) -> EventsResult in
            try connection.reconnectIfBroken()
            var sql = Self.filterSQL(request.filter)
            if let cursor = request.after { sql.add(after: cursor, order: request.order) }
            let text = Self.selectColumns + sql.whereClause + EventQuerySQL.orderClause(request.order) + " LIMIT \(request.limit)"
            let result = try connection.execute(text, sql.values.map(\.postgresText), as: .queryFailed)
            var events: [LedgerEvent] = []
            events.reserveCapacity(result.rowCount)
            for row in 0..<result.rowCount {
                events.append(try Self.event(result, row))
            }
            let next = events.count == Int(request.limit) ? events.last.map { EventCursor(timestamp: $0.timestamp!, id: $0.id) } : nil
            return EventsResult(events: events, next: next)
        }
    }

    public func events(afterSequence sequence: Int64, matching filter: EventFilter, limit: Int) async throws(StoreError) -> [LedgerEvent] {
        try await self.reader.run { (connection: PostgresConnection) throws(StoreError) -> [LedgerEvent] in
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

    static let selectColumns = """
        SELECT id::text, (extract(epoch FROM timestamp) * 1000000)::bigint, event_type, entity_type, entity_id,
               event_data::text, severity::text, worker_id, job_id::text, clip_id::text, peer_uid, peer_pid, seq
        FROM ledger_events
        """

    public func count(_ filter: EventFilter) async throws(StoreError) -> UInt64 {
        try await self.reader.run { (connection: PostgresConnection) throws(StoreError) -> UInt64 in
            try connection.reconnectIfBroken()
            let sql = Self.filterSQL(filter)
            let result = try connection.execute(
                "SELECT count(*) FROM ledger_events" + sql.whereClause, sql.values.map(\.postgresText), as: .queryFailed)
            return result.text(0, 0).flatMap { UInt64($0) } ?? 0
        }
    }

    public func close() async {
        await self.writer.shutdown()
        await self.reader.shutdown()
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
