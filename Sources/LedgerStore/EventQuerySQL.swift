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

    /// How the backend's timestamp column compares with a bound value.
    enum TimestampEncoding {
        /// An integer column of microseconds since the epoch (SQLite).
        case microseconds
        /// A native timestamp column, bound as ISO-8601 text with this cast (PostgreSQL's `::timestamptz`).
        case iso8601(cast: String)
    }

    /// The id a lookup seeks, as a SQL expression (a bound marker or a column): a backend whose id
    /// indexes lead with a segment (SQLite) seeks only the segments that may hold it.
    struct SeekKey {
        /// Nil: no one id, every segment.
        var id: String?

        init(_ id: String) {
            self.id = id
        }

        private init() {}

        static let all = SeekKey()
    }

    var conditions: [String] = []
    var values: [Value] = []
    let placeholder: (Int) -> String
    let timestampColumn = "timestamp"
    let timestampEncoding: TimestampEncoding
    let uuidCast: String

    /// A column the backend must not choose an index by, spelled so that it cannot: SQLite's unary
    /// `+`. SQLite plans without statistics, and the event type index also holds each event's job
    /// (migration 5), so beside a job, clip or entity id it could read every event of the type
    /// instead of seeking the id. PostgreSQL's planner keeps statistics and has no `+` for text.
    static let sqliteUnindexed: @Sendable (String) -> String = { "+" + $0 }

    /// - Parameter segments: the condition that names the segments an entity, job or clip lookup of
    ///   a key seeks, where the backend's indexes of those ids lead with a segment (`SQLiteSegments`);
    ///   nil where they do not.
    init(
        filter: EventFilter, placeholder: @escaping (Int) -> String, timestampEncoding: TimestampEncoding = .microseconds, uuidCast: String = "",
        unindexed: (String) -> String = { $0 }, segments: ((SeekKey) -> String)? = nil
    ) {
        self.placeholder = placeholder
        self.timestampEncoding = timestampEncoding
        self.uuidCast = uuidCast
        if let segments {
            // Bound first, as the condition comes first; any one id of the filter will do, as every row it matches has it.
            let key: SeekKey? =
                if filter.entityType != nil, let id = filter.entityID {
                    SeekKey(self.bind(.text(id)))
                } else if let job = filter.jobID {
                    SeekKey(self.bind(.text(job.lowercaseText)))
                } else if let clip = filter.clipID {
                    SeekKey(self.bind(.text(clip.lowercaseText)))
                } else {
                    filter.entityType == nil ? nil : .all
                }
            if let key { self.conditions.append(segments(key)) }
        }
        if let eventType = filter.eventType {
            let seeksAnID = filter.jobID != nil || filter.clipID != nil || filter.entityID != nil
            self.add((seeksAnID ? unindexed("event_type") : "event_type") + " = ", .text(eventType))
        }
        if let entityType = filter.entityType { self.add("entity_type = ", .text(entityType)) }
        if let entityID = filter.entityID { self.add("entity_id = ", .text(entityID)) }
        if let jobID = filter.jobID { self.add("job_id = ", .text(jobID.lowercaseText), cast: uuidCast) }
        if let clipID = filter.clipID { self.add("clip_id = ", .text(clipID.lowercaseText), cast: uuidCast) }
        if let severities = filter.severities { self.add(severities: severities) }
        if let workerID = filter.workerID { self.add("worker_id = ", .text(workerID)) }
        if let since = filter.since { self.add("\(self.timestampColumn) >= ", self.timestampValue(since), cast: self.timestampCast) }
        if let until = filter.until { self.add("\(self.timestampColumn) < ", self.timestampValue(until), cast: self.timestampCast) }
    }

    func timestampValue(_ timestamp: LedgerTimestamp) -> Value {
        switch self.timestampEncoding {
        case .microseconds: .integer(timestamp.rawValue)
        case .iso8601: .text(timestamp.iso8601)
        }
    }

    var timestampCast: String {
        switch self.timestampEncoding {
        case .microseconds: ""
        case .iso8601(let cast): cast
        }
    }

    mutating func bind(_ value: Value) -> String {
        self.values.append(value)
        return self.placeholder(self.values.count)
    }

    private mutating func add(_ prefix: String, _ value: Value, cast: String = "") {
        let marker = self.bind(value)
        self.conditions.append("\(prefix)\(marker)\(cast)")
    }

    /// One severity is an equality, several an IN list. A set without INFO also names the partial
    /// index's own condition, `severity <> 'INFO'`, which is how both backends' planners see that the
    /// index of notable events (WARN and ERROR, in time order) holds every row the query wants.
    private mutating func add(severities: SeveritySet) {
        if let single = severities.single {
            self.add("severity = ", .text(single.name))
        } else {
            let markers = severities.members.map { self.bind(.text($0.name)) }
            self.conditions.append("severity IN (\(markers.joined(separator: ", ")))")
        }
        if !severities.contains(.info) { self.conditions.append(Self.notable) }
    }

    /// The condition of the partial index `idx_ledger_events_notable` (migration 4), word for word.
    static let notable = "severity <> 'INFO'"

    /// Restricts to rows strictly after the cursor in the given order, over the (timestamp, id) key.
    mutating func add(after cursor: EventCursor, order: QueryRequest.Order) {
        let comparison = order == .newestFirst ? "<" : ">"
        let timestamp = self.bind(self.timestampValue(cursor.timestamp))
        let id = self.bind(.text(cursor.id.lowercaseText))
        self.conditions.append("(\(self.timestampColumn), id) \(comparison) (\(timestamp)\(self.timestampCast), \(id)\(self.uuidCast))")
    }

    /// A bound timestamp as the backend compares it with the column.
    mutating func bind(timestamp: LedgerTimestamp) -> String {
        self.bind(self.timestampValue(timestamp)) + self.timestampCast
    }

    /// A condition built by the caller from markers it bound.
    mutating func add(condition: String) {
        self.conditions.append(condition)
    }

    /// Restricts to rows committed after `sequence`, for a tail catching up.
    mutating func add(afterSequence sequence: Int64) {
        let marker = self.bind(.integer(sequence))
        self.conditions.append("seq > \(marker)")
    }

    /// Restricts to rows committed no later than `sequence`: a store that commits before its
    /// commits are durable shows only those that are.
    mutating func add(throughSequence sequence: Int64) {
        let marker = self.bind(.integer(sequence))
        self.conditions.append("+seq <= \(marker)")
    }

    var whereClause: String {
        self.conditions.isEmpty ? "" : " WHERE " + self.conditions.joined(separator: " AND ")
    }

    static func orderClause(_ order: QueryRequest.Order) -> String {
        order == .newestFirst ? " ORDER BY timestamp DESC, id DESC" : " ORDER BY timestamp ASC, id ASC"
    }
}
