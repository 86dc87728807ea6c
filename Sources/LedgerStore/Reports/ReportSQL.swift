import Foundation
import LedgerProtocol

/// The reports and the timeline as SQL that both backends run, so the store does the counting and
/// only the answer crosses to the daemon.
///
/// The statements are written once; a `Dialect` supplies the few spellings that differ (placeholders,
/// timestamps as microseconds, a JSON field as text, casts). Each report reads its rows as text
/// through the `run` closure, which executes one statement on the store's reader.
struct ReportSQL {
    struct Dialect: Sendable {
        var placeholder: @Sendable (Int) -> String
        var timestampEncoding: EventQuerySQL.TimestampEncoding
        var uuidCast: String
        /// A bound integer as the backend compares it with a bigint expression.
        var integerCast: String
        /// A timestamp column as integer microseconds since the epoch.
        var micros: @Sendable (String) -> String
        /// A metadata field that is a JSON string, as text (NULL for any other JSON type): the table
        /// alias and the bound marker of the key (or path). Numbers and objects print differently on
        /// each backend, so only strings name a job type or link a job.
        var jsonText: @Sendable (_ alias: String, _ keyMarker: String) -> String
        /// How the bound key of a metadata field is spelled: a JSON path for SQLite, the key for PostgreSQL.
        var jsonKey: @Sendable (String) -> String?
        /// The job type an event names, where the store keeps it as a column of its own (SQLite's
        /// generated `job_type`, which the event type index carries); nil to read it from the metadata.
        var jobTypeColumn: (@Sendable (_ alias: String) -> String)?
        /// A metadata field by a literal key (a plain identifier), as the link index spells it.
        var linkText: @Sendable (_ alias: String, _ key: String) -> String
        /// Whether that field is a JSON string.
        var isString: @Sendable (_ alias: String, _ key: String) -> String
        /// `column` among the rows of a subquery, in the form the backend's planner reads through an
        /// index: PostgreSQL ORs index scans only for `= ANY (ARRAY(...))`, not for `IN (SELECT ...)`.
        var among: @Sendable (_ column: String, _ subquery: String) -> String
        /// A column as text (uuid and enum columns in PostgreSQL).
        var text: @Sendable (String) -> String
        /// The newest commit readers may see, when the backend shows commits before they are durable.
        var visibleThrough: Int64?
        /// Text keys sort by their bytes on both backends, whatever the database's locale.
        var bytewise: String = ""
        /// A column spelled so that the planner cannot choose an index by it (`EventQuerySQL.sqliteUnindexed`).
        var unindexed: @Sendable (String) -> String = { $0 }
        /// The segments a lookup by entity, job, clip or video link of a table alias (nil: the
        /// statement's own) seeks for a key: SQLite's (`SQLiteSegments`); nil on PostgreSQL, whose
        /// indexes have none.
        var segments: (@Sendable (_ alias: String?, _ key: EventQuerySQL.SeekKey) -> String)?
        /// A lookup of an alias whose column is any id a subquery gives as `candidate`, each sought
        /// in its own segments (`SQLiteSegments.amongEach`); nil where the indexes have no segments.
        var segmentsOfEach: (@Sendable (_ alias: String?, _ column: String, _ subquery: String) -> String)?
        /// The index a lookup of the jobs linked to an entity by this key must use, as a clause
        /// after the table's alias: SQLite plans without statistics, and beside the creation's
        /// event type it read every job ever created by the event type index rather than seek the
        /// link index (8 s against 9 ms at fifteen million events). Empty where the planner chooses well.
        var linkIndex: @Sendable (_ key: String) -> String = { _ in "" }

        static func sqlite(visibleThrough: Int64) -> Dialect {
            Dialect(
                placeholder: { "?\($0)" }, timestampEncoding: .microseconds, uuidCast: "", integerCast: "", micros: { $0 },
                jsonText: { alias, key in "CASE WHEN json_type(\(alias).event_data, \(key)) = 'text' THEN json_extract(\(alias).event_data, \(key)) END" },
                // A key SQLite's path syntax cannot quote links nothing rather than something else.
                jsonKey: { key in key.contains("\"") ? nil : "$.\"\(key)\"" },
                jobTypeColumn: { "\($0).job_type" },
                linkText: { alias, key in "json_extract(\(alias).event_data, '$.\(key)')" },
                isString: { alias, key in "json_type(\(alias).event_data, '$.\(key)') = 'text'" },
                among: { column, subquery in "\(column) IN (\(subquery))" },
                text: { $0 }, visibleThrough: visibleThrough, unindexed: EventQuerySQL.sqliteUnindexed,
                segments: SQLiteSegments.among, segmentsOfEach: SQLiteSegments.amongEach,
                linkIndex: { key in key == "video_id" ? " INDEXED BY idx_ledger_events_video_link" : "" })
        }

        static let postgres = Dialect(
            placeholder: { "$\($0)" }, timestampEncoding: .iso8601(cast: "::timestamptz"), uuidCast: "::uuid", integerCast: "::bigint",
            micros: PostgresStore.microseconds,
            // `->` takes a text key or an integer index: the bound key says which.
            jsonText: { alias, key in "CASE WHEN jsonb_typeof(\(alias).event_data -> \(key)::text) = 'string' THEN \(alias).event_data ->> \(key)::text END" },
            jsonKey: { $0 },
            jobTypeColumn: nil,
            linkText: { alias, key in "(\(alias).event_data ->> '\(key)')" },
            isString: { alias, key in "jsonb_typeof(\(alias).event_data -> '\(key)') = 'string'" },
            among: { column, subquery in "\(column) = ANY (ARRAY(\(subquery)))" },
            text: { "\($0)::text" }, visibleThrough: nil, bytewise: " COLLATE \"C\"")

        /// A lookup's condition on an index that leads with the segment, in parentheses, with the
        /// segments that may hold `key` where the backend has them.
        func seeking(_ alias: String?, _ key: EventQuerySQL.SeekKey, _ condition: String) -> String {
            guard let segments else { return "(\(condition))" }
            return "(\(segments(alias, key)) AND \(condition))"
        }

        /// A lookup of `column` of `alias` (nil: the statement's own table) among the ids a subquery
        /// gives as `candidate`, each id sought in the segments that may hold it.
        func seekingEach(_ alias: String?, _ column: String, _ subquery: String) -> String {
            guard let segmentsOfEach else { return "(\(self.among((alias.map { "\($0)." } ?? "") + column, subquery)))" }
            return "(\(segmentsOfEach(alias, column, subquery)))"
        }
    }

    typealias Rows = [[String?]]
    typealias Run = (_ sql: String, _ values: [EventQuerySQL.Value]) throws(StoreError) -> Rows

    let dialect: Dialect
    var binder: EventQuerySQL

    init(_ dialect: Dialect) {
        self.dialect = dialect
        self.binder = EventQuerySQL(
            filter: EventFilter(), placeholder: dialect.placeholder, timestampEncoding: dialect.timestampEncoding, uuidCast: dialect.uuidCast)
    }

    private mutating func text(_ value: String) -> String {
        self.binder.bind(.text(value))
    }

    private mutating func integer(_ value: Int64) -> String {
        self.binder.bind(.integer(value)) + self.dialect.integerCast
    }

    /// The window and visibility conditions on one table alias, joined with AND, each prefixed by " AND ".
    private func scope(_ alias: String, window: (since: String?, until: String?)) -> String {
        var conditions: [String] = []
        if let since = window.since { conditions.append("\(alias).timestamp >= \(since)") }
        if let until = window.until { conditions.append("\(alias).timestamp < \(until)") }
        if let visible = self.dialect.visibleThrough { conditions.append("\(alias).seq <= \(visible)") }
        return conditions.map { " AND " + $0 }.joined()
    }

    private func visible(_ alias: String) -> String {
        self.dialect.visibleThrough.map { " AND \(alias).seq <= \($0)" } ?? ""
    }

    private mutating func bind(_ window: ReportWindow) -> (since: String?, until: String?) {
        (window.since.map { self.binder.bind(timestamp: $0) }, window.until.map { self.binder.bind(timestamp: $0) })
    }

    private static func quoted(_ text: String) -> String { "'\(text)'" }

    /// The jobs of a window, one row each: its type, its first start in the window, its last finish
    /// in the window and the outcome of that finish, and its first start before that finish.
    ///
    /// One pass over the window's lifecycle events groups them by job, its creation included (on
    /// SQLite from the event type index alone). A job created in the window is read from the
    /// window's start on (PROTOCOL.md §5), so the pass holds all it needs. Only for the jobs created
    /// before the window, or never, does one index scan over the list of them ask which have events
    /// before the window, and only those have their creation and first start looked up there. A
    /// finishing event is read only on a tie, or for its worker. The cost follows the jobs in the
    /// window, never the jobs in the store. The per-job rows are materialized so that each
    /// expression reading them does not rerun what they hold.
    private mutating func jobsCTE(_ window: ReportWindow, worker: Bool = false) -> String {
        let bounds = self.bind(window)
        // Bound only when the statement reads the metadata: PostgreSQL refuses a parameter no statement text names.
        let typeKey = self.dialect.jobTypeColumn == nil ? self.text(self.dialect.jsonKey(JobLifecycle.jobTypeKey) ?? JobLifecycle.jobTypeKey) : ""
        func jobType(_ alias: String) -> String {
            self.dialect.jobTypeColumn?(alias) ?? self.dialect.jsonText(alias, typeKey)
        }
        let micros = self.dialect.micros
        let (created, started, completed, failed) = (
            Self.quoted(JobLifecycle.created), Self.quoted(JobLifecycle.started), Self.quoted(JobLifecycle.completed), Self.quoted(JobLifecycle.failed)
        )
        // The finishing event itself, for the rare tie of a completion and a failure at one instant
        // (the later id wins) and for its worker when the report groups by worker. The pass found its
        // timestamp, so it is sought by that (SQLite seeks the timestamp index) rather than by the
        // job, whose index would be sought in every segment.
        func finishing(_ column: String) -> String {
            """
            (SELECT f.\(column) FROM ledger_events f
              WHERE f.event_type IN (\(completed), \(failed)) AND f.timestamp = j.at AND f.job_id = j.job_id\(self.visible("f"))
              ORDER BY f.id DESC LIMIT 1)
            """
        }
        // The other per-job lookups seek the job id, never the event type index.
        // The type of a job's first event of a kind (by timestamp, then id): its first creation's
        // names the job, else its first start's; from the window's start on for a job created in it.
        func firstType(_ eventType: String, _ alias: String) -> String {
            let history = bounds.since.map { " AND (j.created_count = 0 OR \(alias).timestamp >= \($0))" } ?? ""
            return """
                (SELECT \(jobType(alias)) FROM ledger_events \(alias)
                  WHERE \(self.dialect.seeking(alias, .init("j.job_id"), "\(alias).job_id = j.job_id")) AND \(self.dialect.unindexed("\(alias).event_type")) = \(eventType)\(history)\(self.visible(alias))
                  ORDER BY \(alias).timestamp, \(alias).id LIMIT 1)
                """
        }
        let startInWindow = "CASE WHEN j.started_at <= j.at THEN j.started_at END"
        let earlier: String
        let earlierJobs: String
        let firstStart: String
        if let since = bounds.since {
            earlierJobs = """
                , earlier_jobs AS (
                    SELECT DISTINCT b.job_id FROM ledger_events b
                     WHERE \(self.dialect.seekingEach("b", "job_id", "SELECT job_id AS candidate FROM grouped WHERE created_count = 0")) AND b.timestamp < \(since)\(self.visible("b"))
                )
                """
            earlier = "job_id IN (SELECT job_id FROM earlier_jobs)"
            firstStart = """
                CASE WHEN j.earlier THEN coalesce((SELECT min(s.timestamp) FROM ledger_events s
                                                    WHERE \(self.dialect.seeking("s", .init("j.job_id"), "s.job_id = j.job_id")) AND s.timestamp < \(since) AND s.timestamp <= j.at
                                                      AND \(self.dialect.unindexed("s.event_type")) = \(started)\(self.visible("s"))), \(startInWindow))
                     ELSE \(startInWindow) END
                """
        } else {
            (earlier, earlierJobs, firstStart) = ("1 = 0", "", startInWindow)
        }
        // The pass holds the first creation when the window has the job's only one; two creations in
        // the window, or none, is a seek.
        let typeOfJob = """
            coalesce(CASE WHEN j.created_count = 1 THEN j.created_type ELSE \(firstType(created, "c")) END,
                     \(firstType(started, "s")))
            """
        return """
            WITH grouped AS (
                SELECT e.job_id,
                       min(CASE WHEN e.event_type = \(started) THEN e.timestamp END) AS started_at,
                       max(CASE WHEN e.event_type = \(completed) THEN e.timestamp END) AS last_completed,
                       max(CASE WHEN e.event_type = \(failed) THEN e.timestamp END) AS last_failed,
                       count(CASE WHEN e.event_type = \(created) THEN 1 END) AS created_count,
                       max(CASE WHEN e.event_type = \(created) THEN \(jobType("e")) END) AS created_type
                  FROM ledger_events e
                 WHERE e.event_type IN (\(created), \(started), \(completed), \(failed)) AND e.job_id IS NOT NULL\(self.scope("e", window: bounds))
                 GROUP BY e.job_id
                HAVING count(CASE WHEN e.event_type <> \(created) THEN 1 END) > 0
            )\(earlierJobs), per_job AS MATERIALIZED (
                SELECT job_id, started_at, last_completed, last_failed, created_count, created_type,
                       CASE WHEN last_failed IS NULL THEN last_completed WHEN last_completed IS NULL THEN last_failed
                            WHEN last_failed > last_completed THEN last_failed ELSE last_completed END AS at,
                       \(earlier) AS earlier
                  FROM grouped
            ), detail AS (
                SELECT \(self.dialect.text("j.job_id")) AS job_id,
                       \(typeOfJob) AS job_type,
                       \(micros("j.started_at")) AS started_in_window,
                       CASE WHEN j.at IS NULL THEN NULL
                            WHEN j.last_failed IS NULL OR j.last_completed > j.last_failed THEN \(completed)
                            WHEN j.last_completed IS NULL OR j.last_failed > j.last_completed THEN \(failed)
                            ELSE \(finishing("event_type")) END AS outcome,
                       \(worker ? finishing("worker_id") : "CAST(NULL AS text)") AS worker_id,
                       \(micros("j.at")) AS finished,
                       \(micros(firstStart)) AS first_start
                  FROM per_job j
            )
            """
    }

    /// One statement: the per-type rows (part 0) and the slowest jobs (part 1) share the jobs CTE,
    /// which the backend computes once.
    mutating func jobsReport(_ request: JobsReportRequest, run: Run) throws(StoreError) -> JobsReport {
        var cte = self.jobsCTE(request.window)
        let typeCondition = request.jobType.map { "WHERE job_type = \(self.text($0))" } ?? ""
        cte += ", filtered AS (SELECT * FROM detail \(typeCondition))"
        let completed = Self.quoted(JobLifecycle.completed)
        let failed = Self.quoted(JobLifecycle.failed)
        let rows = try run(
            cte + """
                , ranked AS (
                    SELECT job_type, finished - first_start AS d,
                           row_number() OVER (PARTITION BY job_type ORDER BY finished - first_start) AS rn,
                           count(*) OVER (PARTITION BY job_type) AS n
                      FROM filtered WHERE finished IS NOT NULL AND first_start IS NOT NULL
                ), percentiles AS (
                    SELECT job_type, max(CASE WHEN rn = (50 * n + 99) / 100 THEN d END) AS p50,
                           max(CASE WHEN rn = (95 * n + 99) / 100 THEN d END) AS p95, max(d) AS longest
                      FROM ranked GROUP BY job_type
                ), counts AS (
                    SELECT job_type, count(started_in_window) AS started,
                           sum(CASE WHEN outcome = \(completed) THEN 1 ELSE 0 END) AS completed,
                           sum(CASE WHEN outcome = \(failed) THEN 1 ELSE 0 END) AS failed,
                           sum(CASE WHEN started_in_window IS NOT NULL AND (finished IS NULL OR finished < started_in_window) THEN 1 ELSE 0 END) AS running
                      FROM filtered GROUP BY job_type
                )
                SELECT * FROM (
                    SELECT 0 AS part, c.job_type, c.started, c.completed, c.failed, c.running, p.p50, p.p95, p.longest, CAST(NULL AS text) AS job_id
                      FROM counts c LEFT JOIN percentiles p ON (p.job_type = c.job_type OR (p.job_type IS NULL AND c.job_type IS NULL))
                     ORDER BY c.job_type IS NULL, c.job_type\(self.dialect.bytewise)
                     LIMIT \(JobsReport.mostRows + 1)
                ) types
                UNION ALL
                SELECT * FROM (
                    SELECT 1 AS part, job_type, finished - first_start, first_start, CASE WHEN outcome = \(failed) THEN 1 ELSE 0 END,
                           CAST(NULL AS bigint), CAST(NULL AS bigint), CAST(NULL AS bigint), CAST(NULL AS bigint), job_id
                      FROM filtered WHERE finished IS NOT NULL AND first_start IS NOT NULL
                     ORDER BY finished - first_start DESC, job_id\(self.dialect.bytewise)
                     LIMIT \(request.slowest)
                ) slowest
                """, self.binder.values)
        let types = rows.filter { $0[0] == "0" }
        func integer(_ text: String?) -> Int64? { text.flatMap { Int64($0) } }
        return JobsReport(
            rows: Self.typeOrder(types.prefix(JobsReport.mostRows).map { cells in
                JobsReport.Row(
                    jobType: cells[1], started: Self.unsigned(cells[2]), completed: Self.unsigned(cells[3]), failed: Self.unsigned(cells[4]),
                    running: Self.unsigned(cells[5]), p50: integer(cells[6]), p95: integer(cells[7]), max: integer(cells[8]))
            }),
            slowest: rows.filter { $0[0] == "1" }.compactMap { cells -> JobsReport.SlowJob? in
                guard let id = cells[9].flatMap(UUID.init(uuidString:)), let duration = integer(cells[2]), let start = integer(cells[3]) else { return nil }
                return JobsReport.SlowJob(
                    jobID: id, jobType: cells[1], failed: cells[4] == "1", durationMicros: duration, startedAt: LedgerTimestamp(rawValue: start))
            }.sorted { ($1.durationMicros, $0.jobID.lowercaseText) < ($0.durationMicros, $1.jobID.lowercaseText) },
            truncated: types.count > JobsReport.mostRows)
    }

    /// A UNION ALL keeps no order of its own: the rows by job type, by bytes, unknown last.
    private static func typeOrder(_ rows: [JobsReport.Row]) -> [JobsReport.Row] {
        rows.sorted { ReportReference.keyOrder($0.jobType, $1.jobType) }
    }

    mutating func failuresReport(_ request: FailuresReportRequest, run: Run) throws(StoreError) -> FailuresReport {
        let statement: String
        switch request.grouping {
        case .jobType, .worker:
            let key = request.grouping == .jobType ? "job_type" : "worker_id"
            statement =
                self.jobsCTE(request.window, worker: request.grouping == .worker) + """
                    SELECT \(key) AS grouped_key, count(*) AS total, sum(CASE WHEN outcome = \(Self.quoted(JobLifecycle.failed)) THEN 1 ELSE 0 END) AS failed
                      FROM detail WHERE outcome IS NOT NULL GROUP BY \(key)
                    """
        case .eventType:
            let bounds = self.bind(request.window)
            statement = """
                SELECT e.event_type AS grouped_key, count(*) AS total, sum(CASE WHEN e.severity = 'ERROR' THEN 1 ELSE 0 END) AS failed
                  FROM ledger_events e WHERE 1 = 1\(self.scope("e", window: bounds)) GROUP BY e.event_type
                """
        }
        let rows = try run(
            "SELECT grouped_key, total, failed FROM (\(statement)) grouped ORDER BY failed DESC, total DESC, grouped_key IS NULL, grouped_key\(self.dialect.bytewise) LIMIT \(FailuresReport.mostRows + 1)", self.binder.values)
        return FailuresReport(
            grouping: request.grouping,
            rows: rows.prefix(FailuresReport.mostRows).map { FailuresReport.Row(key: $0[0], total: Self.unsigned($0[1]), failed: Self.unsigned($0[2])) },
            truncated: rows.count > FailuresReport.mostRows)
    }

    mutating func errorsReport(_ request: ErrorsReportRequest, run: Run) throws(StoreError) -> ErrorsReport {
        let bounds = self.bind(ReportWindow(since: request.since, until: request.until))
        let origin = self.integer(request.since.rawValue)
        let width = self.integer(request.bucketMicros)
        let rows = try run(
            """
            SELECT (\(self.dialect.micros("e.timestamp")) - \(origin)) / \(width) AS bucket, e.event_type, \(self.dialect.text("e.severity")), count(*)
              FROM ledger_events e
             WHERE e.severity IN ('WARN', 'ERROR') AND e.\(EventQuerySQL.notable)\(self.scope("e", window: bounds))
             GROUP BY 1, 2, 3
             ORDER BY 1, e.event_type\(self.dialect.bytewise), CASE \(self.dialect.text("e.severity")) WHEN 'WARN' THEN 1 ELSE 2 END
             LIMIT \(ErrorsReport.mostRows + 1)
            """, self.binder.values)
        return ErrorsReport(
            since: request.since, bucketSeconds: request.bucketSeconds, bucketCount: UInt32(request.bucketCount),
            rows: rows.prefix(ErrorsReport.mostRows).compactMap { cells in
                guard let bucket = cells[0].flatMap({ UInt32($0) }), let type = cells[1], let severity = cells[2].flatMap(Severity.init(name:)) else {
                    return nil
                }
                return ErrorsReport.Row(bucket: bucket, eventType: type, severity: severity, count: Self.unsigned(cells[3]))
            },
            truncated: rows.count > ErrorsReport.mostRows)
    }

    /// The timeline's condition, added to `sql` (the store's own query builder, so its placeholders
    /// and visibility apply): the entity's events, and those of the jobs and clips linked to it.
    static func addTimeline(_ request: TimelineRequest, to sql: inout EventQuerySQL, dialect: Dialect) {
        let (type, id) = (sql.bind(.text(request.entityType)), sql.bind(.text(request.entityID)))
        var parts = [dialect.seeking(nil, .init(id), "entity_type = \(type) AND entity_id = \(id)")]
        // Bound only where it is used: PostgreSQL refuses a parameter no statement text names.
        func uuid() -> String? { UUID(uuidString: request.entityID).map { sql.bind(.text($0.lowercaseText)) + dialect.uuidCast } }
        switch request.entityType {
        case "job":
            if let uuid = uuid() {
                parts.append(dialect.seeking(nil, .init(uuid), "job_id = \(uuid)"))
                let jobsClips = "SELECT l.clip_id AS candidate FROM ledger_events l WHERE \(dialect.seeking("l", .init(uuid), "l.job_id = \(uuid)")) AND l.clip_id IS NOT NULL"
                parts.append(dialect.seekingEach(nil, "clip_id", jobsClips))
            }
        case "clip":
            if let uuid = uuid() { parts.append(dialect.seeking(nil, .init(uuid), "clip_id = \(uuid)")) }
        default:
            // The key is a plain identifier (linkKey checks), written into the SQL so that it is the
            // very expression of the link index (migration 4), which both planners then use. Only
            // `video_id` is in the segments' filters; any other key seeks every segment.
            guard let key = TimelineRequest.linkKey(entityType: request.entityType) else { break }
            let linkID = sql.bind(.text(request.entityID))
            let linked = """
                SELECT l.job_id AS candidate FROM ledger_events l\(dialect.linkIndex(key))
                 WHERE \(dialect.seeking("l", key == "video_id" ? .init(linkID) : .all, "l.event_type = \(Self.quoted(JobLifecycle.created))")) AND l.job_id IS NOT NULL
                   AND \(dialect.linkText("l", key)) = \(linkID) AND \(dialect.isString("l", key))
                """
            parts.append(dialect.seekingEach(nil, "job_id", linked))
            let linkedClips = "SELECT k.clip_id AS candidate FROM ledger_events k WHERE k.clip_id IS NOT NULL AND \(dialect.seekingEach("k", "job_id", linked))"
            parts.append(dialect.seekingEach(nil, "clip_id", linkedClips))
        }
        sql.add(condition: "(" + parts.joined(separator: " OR ") + ")")
        if let cursor = request.after { sql.add(after: cursor, order: .oldestFirst) }
    }

    private static func unsigned(_ text: String?) -> UInt64 {
        text.flatMap { UInt64($0) } ?? 0
    }
}

/// A store whose reports run as `ReportSQL` on one of its readers; the reports themselves are the
/// same for every such store.
protocol ReportRunning: EventStore {
    /// Runs the body on one reader, with the backend's dialect and a way to run one statement.
    func report<Result: Sendable>(
        _ body: @escaping @Sendable (inout ReportSQL, ReportSQL.Run) throws(StoreError) -> Result
    ) async throws(StoreError) -> Result
}

extension ReportRunning {
    public func jobsReport(_ request: JobsReportRequest) async throws(StoreError) -> JobsReport {
        try await self.report { (sql: inout ReportSQL, run: ReportSQL.Run) throws(StoreError) in try sql.jobsReport(request, run: run) }
    }

    public func failuresReport(_ request: FailuresReportRequest) async throws(StoreError) -> FailuresReport {
        try await self.report { (sql: inout ReportSQL, run: ReportSQL.Run) throws(StoreError) in try sql.failuresReport(request, run: run) }
    }

    public func errorsReport(_ request: ErrorsReportRequest) async throws(StoreError) -> ErrorsReport {
        try await self.report { (sql: inout ReportSQL, run: ReportSQL.Run) throws(StoreError) in try sql.errorsReport(request, run: run) }
    }
}
