import ArgumentParser
import Foundation
import LedgerClient
import LedgerProtocol

struct Report: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Answer the operator's questions: which jobs are slow, what fails, when errors spike.",
        discussion: """
            Each report is computed by the store (SQLite or PostgreSQL) in one request; only the \
            answer crosses the socket. Times take the forms of query --since. With --json each \
            prints one object, durations in seconds and times in ISO-8601 UTC.

            A job's type is the job_type of its job_created metadata (or, failing that, of its \
            job_processing_started); jobs with none are listed as (unknown).
            """,
        subcommands: [JobsReportCommand.self, FailuresReportCommand.self, ErrorsReportCommand.self])
}

/// `--since` and `--until` for a report, read as the filters read them.
struct WindowOptions: ParsableArguments {
    @Option(name: .long, help: ArgumentHelp("Only what happened at or after this time (7d, today, 2026-11-01, ...).", valueName: "when"))
    var since: String?

    @Option(name: .long, help: ArgumentHelp("Only what happened before this time.", valueName: "when"))
    var until: String?

    func validate() throws {
        _ = try self.window()
    }

    func window() throws -> ReportWindow {
        let window = ReportWindow(
            since: try self.since.map { try parseTime($0, option: "--since") }, until: try self.until.map { try parseTime($0, option: "--until") })
        if let since = window.since, let until = window.until, until < since {
            throw ValidationError("--until \(until.iso8601) is before --since \(since.iso8601)")
        }
        return window
    }
}

/// Durations as an operator reads them: 850ms, 4.2s, 10m05s, 2h03m.
func durationText(_ micros: Int64?) -> String {
    guard let micros else { return "-" }
    let seconds = Double(micros) / 1e6
    switch seconds {
    case ..<1: return String(format: "%.0fms", seconds * 1e3)
    case ..<60: return String(format: "%.1fs", seconds)
    case ..<3_600: return String(format: "%dm%02ds", Int(seconds) / 60, Int(seconds) % 60)
    default: return String(format: "%dh%02dm", Int(seconds) / 3_600, (Int(seconds) % 3_600) / 60)
    }
}

func jsonSeconds(_ micros: Int64?) -> String {
    micros.map { String(format: "%.6f", Double($0) / 1e6) } ?? "null"
}

func jsonString(_ text: String?) -> String {
    text.map(JSONText.quote) ?? "null"
}

struct JobsReportCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "jobs",
        abstract: "Per job type: jobs started, completed, failed and running, their durations, and the slowest jobs.",
        discussion: """
            A job counts as started when it started in the window, and as completed or failed by \
            its last finish in the window; running means it started in the window and has not \
            finished since. Its duration runs from its first start to that finish. A job created \
            within the window is read from the window's start on; one created earlier is looked \
            up before it. p50 and p95 are nearest-rank percentiles.
            """)

    @OptionGroup var window: WindowOptions

    @Option(name: .long, help: ArgumentHelp("Only jobs of this type.", valueName: "type"))
    var jobType: String?

    @Option(name: .long, help: ArgumentHelp("How many of the slowest jobs to list (0 to 100).", valueName: "n"))
    var slowest: Int = 10

    @Flag(name: .long, help: "Print JSON instead of tables.")
    var json = false

    @OptionGroup var connection: ConnectionOptions

    func validate() throws {
        guard (0...Int(JobsReportRequest.mostSlowest)).contains(self.slowest) else {
            throw ValidationError("--slowest \(self.slowest) is out of range: give 0 to \(JobsReportRequest.mostSlowest)")
        }
    }

    func run() async throws {
        let window = try self.window.window()
        let request = JobsReportRequest(window: window, jobType: self.jobType, slowest: UInt16(self.slowest))
        let report = try await self.connection.run { try await $0.jobsReport(request) }
        print(self.json ? Self.json(report) : Self.table(report), terminator: "")
    }

    static func table(_ report: JobsReport) -> String {
        guard !report.rows.isEmpty else { return "(no jobs in the window)\n" }
        var text = EventTable.table(
            ["JOB_TYPE", "STARTED", "COMPLETED", "FAILED", "RUNNING", "P50", "P95", "MAX"],
            report.rows.map { row in
                [TerminalText.escaped(row.jobType ?? "(unknown)"), "\(row.started)", "\(row.completed)", "\(row.failed)", "\(row.running)",
                 durationText(row.p50), durationText(row.p95), durationText(row.max)]
            })
        if report.truncated { text += "(only the first \(JobsReport.mostRows) job types)\n" }
        if !report.slowest.isEmpty {
            text += "\nslowest:\n"
            text += EventTable.table(
                ["DURATION", "OUTCOME", "JOB_TYPE", "STARTED", "JOB_ID"],
                report.slowest.map { job in
                    [durationText(job.durationMicros), job.failed ? "failed" : "completed", TerminalText.escaped(job.jobType ?? "(unknown)"),
                     job.startedAt.iso8601, job.jobID.lowercaseText]
                })
        }
        return text
    }

    static func json(_ report: JobsReport) -> String {
        let rows = report.rows.map { row in
            "{\"job_type\":\(jsonString(row.jobType)),\"started\":\(row.started),\"completed\":\(row.completed),\"failed\":\(row.failed),"
                + "\"running\":\(row.running),\"duration_p50_seconds\":\(jsonSeconds(row.p50)),\"duration_p95_seconds\":\(jsonSeconds(row.p95)),"
                + "\"duration_max_seconds\":\(jsonSeconds(row.max))}"
        }
        let slowest = report.slowest.map { job in
            "{\"job_id\":\(jsonString(job.jobID.lowercaseText)),\"job_type\":\(jsonString(job.jobType)),"
                + "\"outcome\":\(jsonString(job.failed ? "failed" : "completed")),\"duration_seconds\":\(jsonSeconds(job.durationMicros)),"
                + "\"started_at\":\(jsonString(job.startedAt.iso8601))}"
        }
        return "{\"job_types\":[\(rows.joined(separator: ","))],\"slowest\":[\(slowest.joined(separator: ","))],\"truncated\":\(report.truncated)}\n"
    }
}

struct FailuresReportCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "failures",
        abstract: "Failure counts and rates per job type, event type or worker.",
        discussion: """
            By job_type and by worker, the jobs that finished in the window (by their last \
            finishing event; the worker is the one that logged it) and how many of them failed. \
            By event_type, the events of each type and how many were ERROR. Most failures first.
            """)

    @OptionGroup var window: WindowOptions

    @Option(name: .long, help: ArgumentHelp("job_type, event_type or worker.", valueName: "grouping"))
    var by: String = "job_type"

    @Flag(name: .long, help: "Print JSON instead of a table.")
    var json = false

    @OptionGroup var connection: ConnectionOptions

    func validate() throws {
        _ = try self.grouping()
    }

    func grouping() throws -> FailuresReportRequest.Grouping {
        guard let grouping = FailuresReportRequest.Grouping.allCases.first(where: { $0.name == self.by }) else {
            throw ValidationError("--by \"\(self.by)\" is not one of job_type, event_type, worker")
        }
        return grouping
    }

    func run() async throws {
        let request = FailuresReportRequest(window: try self.window.window(), grouping: try self.grouping())
        let report = try await self.connection.run { try await $0.failuresReport(request) }
        print(self.json ? Self.json(report) : Self.table(report), terminator: "")
    }

    static func table(_ report: FailuresReport) -> String {
        guard !report.rows.isEmpty else { return "(nothing in the window)\n" }
        let unknown = report.grouping == .eventType ? "-" : (report.grouping == .worker ? "(no worker)" : "(unknown)")
        var text = EventTable.table(
            [report.grouping.name.uppercased(), "TOTAL", "FAILED", "RATE"],
            report.rows.map { row in
                [TerminalText.escaped(row.key ?? unknown), "\(row.total)", "\(row.failed)", String(format: "%.1f%%", row.rate * 100)]
            })
        if report.truncated { text += "(only the first \(FailuresReport.mostRows) rows)\n" }
        return text
    }

    static func json(_ report: FailuresReport) -> String {
        let rows = report.rows.map { row in
            "{\"key\":\(jsonString(row.key)),\"total\":\(row.total),\"failed\":\(row.failed),\"failure_rate\":\(String(format: "%.6f", row.rate))}"
        }
        return "{\"by\":\(jsonString(report.grouping.name)),\"rows\":[\(rows.joined(separator: ","))],\"truncated\":\(report.truncated)}\n"
    }
}

struct ErrorsReportCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "errors",
        abstract: "ERROR and WARN counts per event type and time bucket, with the spikes marked.",
        discussion: """
            Buckets start on whole multiples of their width in UTC (1h buckets on the hour), the \
            first one holding --since. Each event type and severity is a series over every \
            bucket of the window, empty buckets counting zero. A bucket's deviation is how many \
            standard deviations it lies above the series' mean; a bucket of at least 3 events \
            and 2 or more deviations is marked as a spike. The table lists the buckets that had \
            events, ERROR first.
            """)

    @Option(name: .long, help: ArgumentHelp("The window's start (default 7d).", valueName: "when"))
    var since: String = "7d"

    @Option(name: .long, help: ArgumentHelp("The window's end (default now).", valueName: "when"))
    var until: String = "now"

    @Option(name: .long, help: ArgumentHelp("The bucket width: 1h, 15m, 1d, ...", valueName: "span"))
    var bucket: String = "1h"

    @Flag(name: .long, help: "Print JSON instead of a table.")
    var json = false

    @OptionGroup var connection: ConnectionOptions

    func validate() throws {
        _ = try self.request()
    }

    func request() throws -> ErrorsReportRequest {
        guard let micros = TimeArgument.span(self.bucket.lowercased()), micros >= 1_000_000, micros % 1_000_000 == 0,
            micros / 1_000_000 <= Int64(UInt32.max)
        else {
            throw ValidationError("--bucket \"\(self.bucket)\" is not a span of whole seconds: give 30s, 15m, 1h, 1d, ...")
        }
        let given = try parseTime(self.since, option: "--since")
        let until = try parseTime(self.until, option: "--until")
        // Buckets start on whole multiples of their width (hours on the hour, days at midnight UTC),
        // so two reports line up and a bucket reads as a clock time.
        let since = LedgerTimestamp(rawValue: given.rawValue - ((given.rawValue % micros) + micros) % micros)
        let request = ErrorsReportRequest(since: since, until: until, bucketSeconds: UInt32(micros / 1_000_000))
        do {
            try request.validate()
        } catch {
            throw ValidationError(error.message)
        }
        return request
    }

    func run() async throws {
        let request = try self.request()
        let report = try await self.connection.run { try await $0.errorsReport(request) }
        print(self.json ? Self.json(report, until: request.until) : Self.table(report), terminator: "")
    }

    static func deviationText(_ deviation: Double) -> String {
        String(format: "%+.1f", deviation)
    }

    static func table(_ report: ErrorsReport) -> String {
        let series = report.series
        guard !series.isEmpty else { return "(no WARN or ERROR events in the window)\n" }
        var rows: [[String]] = []
        for one in series {
            for (bucket, count) in one.counts.enumerated() where count > 0 {
                rows.append([
                    report.bucketStart(UInt32(bucket)).iso8601, one.severity.name, TerminalText.escaped(one.eventType), "\(count)",
                    String(format: "%.2f", one.mean), deviationText(one.deviation(bucket)), one.isSpike(bucket) ? "spike" : "",
                ])
            }
        }
        var text = EventTable.table(["BUCKET", "SEVERITY", "EVENT_TYPE", "COUNT", "MEAN", "DEVIATION", ""], rows)
        let spikes = series.reduce(0) { total, one in total + one.counts.indices.filter(one.isSpike).count }
        text += "\(report.bucketCount) buckets of \(durationText(Int64(report.bucketSeconds) * 1_000_000)); \(spikes) spike\(spikes == 1 ? "" : "s")\n"
        if report.truncated { text += "(only the first \(ErrorsReport.mostRows) rows; give a larger --bucket)\n" }
        return text
    }

    static func json(_ report: ErrorsReport, until: LedgerTimestamp) -> String {
        let series = report.series.map { one in
            let buckets = one.counts.enumerated().filter { $0.element > 0 }.map { bucket, count in
                "{\"start\":\(jsonString(report.bucketStart(UInt32(bucket)).iso8601)),\"count\":\(count),"
                    + "\"deviation\":\(String(format: "%.3f", one.deviation(bucket))),\"spike\":\(one.isSpike(bucket))}"
            }
            return "{\"event_type\":\(jsonString(one.eventType)),\"severity\":\(jsonString(one.severity.name)),\"total\":\(one.counts.reduce(0, +)),"
                + "\"mean\":\(String(format: "%.6f", one.mean)),\"stddev\":\(String(format: "%.6f", one.standardDeviation)),\"buckets\":[\(buckets.joined(separator: ","))]}"
        }
        return "{\"since\":\(jsonString(report.since.iso8601)),\"until\":\(jsonString(until.iso8601)),\"bucket_seconds\":\(report.bucketSeconds),"
            + "\"bucket_count\":\(report.bucketCount),\"series\":[\(series.joined(separator: ","))],\"truncated\":\(report.truncated)}\n"
    }
}
