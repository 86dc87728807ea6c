import Foundation
import LedgerProtocol
import LedgerTestSupport
import Testing

@testable import LedgerStore

/// SQLite plans without statistics, so an index that holds more than it is named for can win a
/// choice it should lose: the event type index also holds each event's job (migration 5). Whatever
/// names a job, clip or entity beside an event type must seek by the id, never read every event of
/// the type. Asked of SQLite itself, with `EXPLAIN QUERY PLAN` on a migrated store.
@Suite struct SQLitePlanTests {
    /// The plan's lines, from a connection like a reader's, which provides `ledger_segments`
    /// (unbound placeholders plan as they would bound).
    static func plan(_ database: TestStore, _ sql: String) async throws -> [String] {
        let connection = try SQLiteConnection(path: String(database.location.dropFirst("sqlite:".count)))
        try connection.provideSegments(SQLiteSegmentFilters())
        let statement = try connection.prepare("EXPLAIN QUERY PLAN " + sql)
        var lines: [String] = []
        while try statement.step(as: .queryFailed) { lines.append(statement.text(3) ?? "") }
        return lines
    }

    static func migrated() async throws -> TestStore {
        let database = try await TestStore.make(.sqlite)
        await (try await database.open()).close()
        return database
    }

    @Test(arguments: [
        EventFilter(eventType: "job_created", jobID: UUID()),
        EventFilter(eventType: "clip_created", clipID: UUID()),
        EventFilter(eventType: "video_uploaded", entityType: "video_asset", entityID: "v-1"),
        EventFilter(eventType: "job_processing_failed", jobID: UUID(), since: LedgerTimestamp(rawValue: 1)),
    ])
    func aTypeBesideAnIDSeeksTheID(filter: EventFilter) async throws {
        let database = try await Self.migrated()
        let sql = SQLiteStore.filterSQL(filter)
        for statement in [
            SQLiteStore.selectColumns + sql.whereClause + EventQuerySQL.orderClause(.newestFirst) + " LIMIT 51",
            "SELECT count(*) FROM ledger_events" + sql.whereClause,
        ] {
            let plan = try await Self.plan(database, statement)
            #expect(!plan.joined().contains("idx_ledger_events_event_type"), "\(statement)\n\(plan.joined(separator: "\n"))")
            #expect(plan.contains { $0.contains("idx_ledger_events_job_id") || $0.contains("idx_ledger_events_clip_id") || $0.contains("idx_ledger_events_entity") })
        }
    }

    /// The SQL for people at the sqlite3 prompt is held to the same: no statement reads every event
    /// of a type, where a job's id would find its few.
    @Test(arguments: ["errors_per_hour", "failure_rate_by_job_type", "slowest_jobs"])
    func theAnalyticsSQLNeverReadsAWholeType(name: String) async throws {
        let database = try await Self.migrated()
        let sql = try String(contentsOf: AnalyticsSQLTests.analytics.appendingPathComponent("sqlite/\(name).sql"), encoding: .utf8)
        let plan = try await database.shell("EXPLAIN QUERY PLAN " + sql).split(separator: "\n")
        #expect(!plan.contains { $0.contains("idx_ledger_events_event_type (event_type=?)") }, "\(plan.joined(separator: "\n"))")
    }

    @Test func aTypeAloneStillReadsTheTypeIndex() async throws {
        let database = try await Self.migrated()
        let sql = SQLiteStore.filterSQL(EventFilter(eventType: "job_created"))
        let plan = try await Self.plan(database, SQLiteStore.selectColumns + sql.whereClause + EventQuerySQL.orderClause(.newestFirst) + " LIMIT 51")
        #expect(plan.joined().contains("idx_ledger_events_event_type"), "\(plan)")
    }

    /// The jobs report: one pass over the window by the event type index, and every per-job lookup a
    /// seek rather than a read of every event of a type: a job's creation, first start and whether it
    /// has events before the window by the job index in each segment, its finishing event (whose
    /// timestamp the pass found) by that timestamp.
    @Test(arguments: [false, true])
    func theJobsReportReadsTheWindowOnceAndSeeksEachJob(byWorker: Bool) async throws {
        let database = try await Self.migrated()
        var report = ReportSQL(.sqlite(visibleThrough: 1_000))
        let window = ReportWindow(since: LedgerTimestamp(rawValue: 1_000_000), until: LedgerTimestamp(rawValue: 9_000_000))
        var statements: [String] = []
        let capture: ReportSQL.Run = { sql, _ in
            statements.append(sql)
            return []
        }
        if byWorker {
            _ = try report.failuresReport(FailuresReportRequest(window: window, grouping: .worker), run: capture)
        } else {
            _ = try report.jobsReport(JobsReportRequest(window: window, slowest: 10), run: capture)
        }
        let plan = try await Self.plan(database, try #require(statements.first))
        let searches = plan.filter { $0.contains("SEARCH") }
        #expect(searches.filter { $0.contains("idx_ledger_events_event_type") }.count == 1, "\(plan.joined(separator: "\n"))")
        let byJob = searches.filter { $0.contains("idx_ledger_events_job_id") }
        #expect(byJob.count >= (byWorker ? 1 : 4), "\(plan.joined(separator: "\n"))")
        #expect(byJob.allSatisfy { $0.contains("(segment=? AND job_id=?") }, "\(plan.joined(separator: "\n"))")
        if byWorker {
            #expect(searches.filter { $0.contains("(timestamp=?)") }.count >= 2, "each finishing event by its timestamp: \(plan.joined(separator: "\n"))")
        }
        #expect(!plan.contains { $0.contains("SCAN") && $0.contains("ledger_events") }, "no whole-table read: \(plan.joined(separator: "\n"))")
    }
}
