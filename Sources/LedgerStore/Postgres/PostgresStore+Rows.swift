import Foundation
import LedgerProtocol
import LedgerTree

/// Events into rows and back for PostgreSQL: binary COPY for the fast path, one INSERT of column
/// arrays for batches that may hold stored ids, and the SELECT whose rows `PostgresRow` reads.
extension PostgresStore {
    static let copyStatement = "COPY ledger_events (\(EventColumns.list())) FROM STDIN (FORMAT binary)"

    /// Each of `EventColumns.names`' PostgreSQL type, for the arrays an INSERT unnests.
    static let columnTypes = ["uuid", "timestamptz", "text", "text", "text", "jsonb", "event_severity", "text", "uuid", "uuid", "bigint", "integer", "bigint"]

    /// The fast path: the batch's commit numbers taken from the sequence, then every row in one
    /// binary COPY, which fails as a whole if any id is already stored.
    /// With a log, its leaves go in the same transaction, after the log's lock is taken and before
    /// the numbers are, so that its leaves follow the numbers.
    static func copy(
        _ events: [LedgerEvent], leaves: [LeafPrefix], tree: PostgresLogTree?, on connection: PostgresConnection
    ) throws(StoreError) -> [Int64?] {
        try Self.transaction(keeping: tree, on: connection) { (after: inout TreeFrontier?) throws(StoreError) -> [Int64?] in
            let sequences = try Self.reserveNumbers(events.count, locking: tree, on: connection)
            // The copy stores every row or none, so the leaves are hashed while PostgreSQL takes the rows.
            let frontier = try tree?.frontier(on: connection)
            let foreseen = frontier.flatMap { tree?.foresee(events, leaves: leaves, sequences: sequences, after: $0) }
            try Self.copyRows(events, sequences: sequences, on: connection)
            if let tree, let frontier {
                after = try tree.append(events, leaves: leaves, sequences: sequences, after: frontier, foreseen: foreseen, on: connection)
            }
            return sequences
        }
    }

    /// Runs `body` in one transaction. The log keeps the frontier the body reached only once the
    /// commit is known to have landed; any failure, a COMMIT of unknown outcome included, makes the
    /// next commit read the log's newest row instead.
    static func transaction(
        keeping tree: PostgresLogTree?, on connection: PostgresConnection,
        _ body: (inout TreeFrontier?) throws(StoreError) -> [Int64?]
    ) throws(StoreError) -> [Int64?] {
        var after: TreeFrontier?
        do throws(StoreError) {
            let sequences = try connection.transaction(as: .writeFailed) { () throws(StoreError) -> [Int64?] in try body(&after) }
            if let tree, let after { tree.committed(after) }
            return sequences
        } catch {
            tree?.forget()
            throw error
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
            rows.startRow(fields: Int16(EventColumns.count))
            EventColumns.write(event, sequence: sequence, into: &rows)
        }
        try connection.copy(Self.copyStatement, data: rows.finish(), as: .writeFailed)
    }

    /// The path for batches that may hold stored ids: each row checked, the stored ones skipped.
    static func insertSkippingStored(
        _ events: [LedgerEvent], leaves: [LeafPrefix], tree: PostgresLogTree?, on connection: PostgresConnection
    ) throws(StoreError) -> [Int64?] {
        try Self.transaction(keeping: tree, on: connection) { (after: inout TreeFrontier?) throws(StoreError) -> [Int64?] in
            let frontier = try tree?.lock(on: connection)
            let sequences = try Self.insertRows(events, sequences: nil, on: connection)
            if let tree, let frontier { after = try tree.append(events, leaves: leaves, sequences: sequences, after: frontier, on: connection) }
            return sequences
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
        let count = sequences == nil ? EventColumns.count - 1 : EventColumns.count
        let arrays = (1...count).map { "$\($0)::\(Self.columnTypes[$0 - 1])[]" }.joined(separator: ", ")
        let sql = """
            INSERT INTO ledger_events (\(EventColumns.list(withSequence: sequences != nil)))
            SELECT * FROM unnest(\(arrays))
            ON CONFLICT DO NOTHING RETURNING id::text, seq
            """
        var columns = PostgresArrayColumns(count: count, capacity: events.count * 40)
        if let sequences {
            for (event, sequence) in zip(events, sequences) { EventColumns.write(event, sequence: sequence, into: &columns) }
        } else {
            for event in events { EventColumns.write(event, sequence: nil, into: &columns) }
        }
        return (sql, columns.texts)
    }

    /// A timestamptz expression as the protocol's integer microseconds since the epoch, exact
    /// because `extract` returns numeric (PostgreSQL 14 and later).
    static func microseconds(_ expression: String) -> String {
        "(extract(epoch FROM \(expression)) * 1000000)::bigint"
    }

    /// `EventColumns.names`, each as `PostgresRow` reads it: ids, the metadata and the severity as
    /// text, the timestamp in the protocol's integer microseconds.
    static let selectColumns: String = {
        let columns = zip(EventColumns.names, PostgresStore.columnTypes).map { name, type in
            switch type {
            case "timestamptz": PostgresStore.microseconds(name)
            case "uuid", "jsonb", "event_severity": "\(name)::text"
            default: name
            }
        }
        return "SELECT \(columns.joined(separator: ", ")) FROM ledger_events"
    }()
}

/// A row of `PostgresStore.selectColumns`, every column read as text.
struct PostgresRow: EventRowReader {
    let result: PostgresResult
    let row: Int

    func text(_ column: Int) -> String? {
        self.result.text(self.row, column)
    }

    func integer(_ column: Int) -> Int64? {
        self.result.text(self.row, column).flatMap { Int64($0) }
    }
}

extension PostgresBinaryCopy: EventRowWriter {
    mutating func uuid(_ value: UUID?) { self.append(value) }
    mutating func timestamp(_ value: LedgerTimestamp) { self.append(value) }
    mutating func text(_ value: String?) { self.append(value) }
    mutating func json(_ value: String) { self.append(jsonb: value) }
    mutating func integer(_ value: Int64?) { self.append(value) }
    mutating func integer32(_ value: Int32?) { self.append(value) }
}

/// One array literal per column, the events' values appended across them row by row.
struct PostgresArrayColumns: EventRowWriter {
    private var columns: [PostgresArrayLiteral]
    private var index = 0

    init(count: Int, capacity: Int) {
        self.columns = Array(repeating: PostgresArrayLiteral(capacity: capacity), count: count)
    }

    var texts: [String?] { self.columns.map(\.text) }

    private mutating func append(_ value: String?) {
        self.columns[self.index].append(value)
        self.index = (self.index + 1) % self.columns.count
    }

    mutating func uuid(_ value: UUID?) { self.append(value?.lowercaseText) }
    mutating func timestamp(_ value: LedgerTimestamp) { self.append(value.iso8601) }
    mutating func text(_ value: String?) { self.append(value) }
    mutating func json(_ value: String) { self.append(value) }
    mutating func integer(_ value: Int64?) { self.append(value.map { String($0) }) }
    mutating func integer32(_ value: Int32?) { self.append(value.map { String($0) }) }
}
