import LedgerProtocol

/// Turns an `EventFilter`, order and cursor into a WHERE clause with bound values.
///
/// Shared by every SQL backend; only the placeholder spelling differs
/// (`?` for SQLite, `$1` for PostgreSQL), so both stores page identically.
struct EventQuerySQL {
    enum Value: Sendable, Equatable {
        case text(String)
        case integer(Int64)
    }

    var conditions: [String] = []
    var values: [Value] = []
    let placeholder: (Int) -> String
    /// The column expression for the timestamp in microseconds since the epoch.
    let timestampColumn: String
    let uuidCast: String

    init(filter: EventFilter, placeholder: @escaping (Int) -> String, timestampColumn: String = "timestamp", uuidCast: String = "") {
        self.placeholder = placeholder
        self.timestampColumn = timestampColumn
        self.uuidCast = uuidCast
        if let eventType = filter.eventType { self.add("event_type = ", .text(eventType)) }
        if let entityType = filter.entityType { self.add("entity_type = ", .text(entityType)) }
        if let entityID = filter.entityID { self.add("entity_id = ", .text(entityID)) }
        if let jobID = filter.jobID { self.add("job_id = ", .text(jobID.uuidString.lowercased()), cast: uuidCast) }
        if let clipID = filter.clipID { self.add("clip_id = ", .text(clipID.uuidString.lowercased()), cast: uuidCast) }
        if let severity = filter.severity { self.add("severity = ", .text(severity.name)) }
        if let workerID = filter.workerID { self.add("worker_id = ", .text(workerID)) }
        if let since = filter.since { self.add("\(timestampColumn) >= ", .integer(since.rawValue)) }
        if let until = filter.until { self.add("\(timestampColumn) < ", .integer(until.rawValue)) }
    }

    private mutating func bind(_ value: Value) -> String {
        self.values.append(value)
        return self.placeholder(self.values.count)
    }

    private mutating func add(_ prefix: String, _ value: Value, cast: String = "") {
        let marker = self.bind(value)
        self.conditions.append("\(prefix)\(marker)\(cast)")
    }

    /// Restricts to rows strictly after the cursor in the given order, over the (timestamp, id) key.
    mutating func add(after cursor: EventCursor, order: QueryRequest.Order) {
        let comparison = order == .newestFirst ? "<" : ">"
        let timestamp = self.bind(.integer(cursor.timestamp.rawValue))
        let id = self.bind(.text(cursor.id.uuidString.lowercased()))
        self.conditions.append("(\(self.timestampColumn), id) \(comparison) (\(timestamp), \(id)\(self.uuidCast))")
    }

    var whereClause: String {
        self.conditions.isEmpty ? "" : " WHERE " + self.conditions.joined(separator: " AND ")
    }

    static func orderClause(_ order: QueryRequest.Order, timestampColumn: String = "timestamp") -> String {
        order == .newestFirst ? " ORDER BY \(timestampColumn) DESC, id DESC" : " ORDER BY \(timestampColumn) ASC, id ASC"
    }
}
