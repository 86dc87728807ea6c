import ArgumentParser
import Foundation
import LedgerClient
import LedgerProtocol

struct ReportLatency: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "reports",
        abstract: "Times the reports over the newest window of the store, and an entity's timeline.",
        discussion: """
            The window ends at the newest event and reaches back --window-hours. Each report is \
            run --runs times, one at a time over one connection, timed from request to answer.
            """
    )

    @Option(name: .long, help: ArgumentHelp("The daemon's Unix socket.", valueName: "path"))
    var socket: String

    @Option(name: .long, help: "Runs of each report.")
    var runs = 5

    @Option(name: .long, help: "How far back the window reaches from the newest event.")
    var windowHours = 24

    @Flag(name: .long, help: "Print one JSON object instead of a table.")
    var json = false

    func validate() throws {
        guard self.runs >= 1 else { throw ValidationError("--runs must be at least 1, got \(self.runs)") }
        guard self.windowHours >= 1 else { throw ValidationError("--window-hours must be at least 1, got \(self.windowHours)") }
    }

    func run() async throws {
        let report = try await LedgerClient(socketPath: self.socket).executeThenShutdown(self.measure)
        print(self.json ? try encodeJSON(report) : report.table())
    }

    private func measure(_ client: LedgerClient) async throws -> ReportTimings {
        let latest = try await client.query(QueryRequest(limit: 1_000)).events
        guard let newest = latest.first, let end = newest.timestamp else {
            throw BenchFailure("the store behind \(self.socket) is empty; load some events first")
        }
        let until = LedgerTimestamp(rawValue: end.rawValue + 1)
        let window = ReportWindow(since: LedgerTimestamp(rawValue: until.rawValue - Int64(self.windowHours) * 3_600_000_000), until: until)
        // A job from a little way back, whose story is complete.
        let sample = latest.last(where: { $0.jobID != nil }) ?? newest
        let entity = sample.jobID.map { ("job", $0.lowercaseText) } ?? (sample.entityType, sample.entityID)
        // A video followed to its jobs and clips through job_created's video_id.
        let video = latest.last(where: { $0.eventType == "video_uploaded" }) ?? sample
        let cases: [(String, @Sendable (LedgerClient) async throws -> Int)] = [
            ("jobs", { try await $0.jobsReport(JobsReportRequest(window: window, slowest: 10)).rows.count }),
            ("failures_by_job_type", { try await $0.failuresReport(FailuresReportRequest(window: window, grouping: .jobType)).rows.count }),
            ("failures_by_event_type", { try await $0.failuresReport(FailuresReportRequest(window: window, grouping: .eventType)).rows.count }),
            ("errors_hourly", {
                try await $0.errorsReport(ErrorsReportRequest(since: window.since!, until: until, bucketSeconds: 3_600)).rows.count
            }),
            ("timeline", { try await $0.timeline(TimelineRequest(entityType: entity.0, entityID: entity.1)).events.count }),
            ("video_timeline", { try await $0.timeline(TimelineRequest(entityType: video.entityType, entityID: video.entityID)).events.count }),
        ]
        var timings: [String: ReportTimings.Timing] = [:]
        for (name, body) in cases {
            var samples: [Double] = []
            var rows = 0
            for _ in 0..<self.runs {
                let started = monotonicNanoseconds()
                rows = try await body(client)
                samples.append(Double(monotonicNanoseconds() - started) / 1e6)
            }
            samples.sort()
            timings[name] = ReportTimings.Timing(medianMilliseconds: samples[samples.count / 2], maxMilliseconds: samples.last ?? 0, rows: rows)
        }
        return ReportTimings(windowHours: self.windowHours, storeEvents: try await client.count(), windowEvents: try await client.count(EventFilter(since: window.since, until: until)), reports: timings)
    }
}

struct ReportTimings: Encodable {
    struct Timing: Encodable {
        var medianMilliseconds: Double
        var maxMilliseconds: Double
        var rows: Int

        enum CodingKeys: String, CodingKey {
            case medianMilliseconds = "median_ms", maxMilliseconds = "max_ms", rows
        }
    }

    var windowHours: Int
    var storeEvents: UInt64
    var windowEvents: UInt64
    var reports: [String: Timing]

    enum CodingKeys: String, CodingKey {
        case windowHours = "window_hours", storeEvents = "store_events", windowEvents = "window_events", reports
    }

    func table() -> String {
        var lines = ["ledger-bench reports: \(self.windowEvents) of \(self.storeEvents) events in the last \(self.windowHours) h"]
        for (name, timing) in self.reports.sorted(by: { $0.key < $1.key }) {
            lines.append(
                "  \(name.padding(toLength: 24, withPad: " ", startingAt: 0)) median \(String(format: "%.1f", timing.medianMilliseconds)) ms, max \(String(format: "%.1f", timing.maxMilliseconds)) ms, \(timing.rows) rows")
        }
        return lines.joined(separator: "\n")
    }
}
