import Foundation
import LedgerProtocol

/// The reports and the timeline computed in Swift over events in memory, by the definitions
/// `ReportSQL` implements: the memory store's answer, and what the SQL stores are held to.
struct ReportReference {
    let events: [LedgerEvent]

    private struct Job {
        var id: UUID
        var jobType: String?
        var startedInWindow: Int64?
        var finish: LedgerEvent?
        var firstStart: Int64?
    }

    private static func micros(_ event: LedgerEvent) -> Int64 { event.timestamp?.rawValue ?? 0 }

    /// Events in (timestamp, id) order, as the SQL's ORDER BY reads them.
    private static func ordered(_ events: some Sequence<LedgerEvent>) -> [LedgerEvent] {
        events.sorted { (micros($0), $0.id.lowercaseText) < (micros($1), $1.id.lowercaseText) }
    }

    private static func jobType(of event: LedgerEvent) -> String? {
        guard let data = event.metadata.data(using: .utf8), let object = try? JSONSerialization.jsonObject(with: data) as? [String: Any] else {
            return nil
        }
        return Self.string(object[JobLifecycle.jobTypeKey])
    }

    /// A JSON string's text; nil for any other JSON value (a number is not a bridged string here).
    private static func string(_ value: Any?) -> String? {
        guard let value, !(value is NSNumber), let text = value as? String else { return nil }
        return text
    }

    private func jobs(_ window: ReportWindow) -> [Job] {
        let byJob = Dictionary(grouping: self.events.filter { $0.jobID != nil }, by: { $0.jobID! })
        var jobs: [Job] = []
        for (id, events) in byJob {
            let ordered = Self.ordered(events)
            let startsInWindow = ordered.filter { $0.eventType == JobLifecycle.started && window.contains($0.timestamp!) }
            let finishes = ordered.filter {
                ($0.eventType == JobLifecycle.completed || $0.eventType == JobLifecycle.failed) && window.contains($0.timestamp!)
            }
            guard !startsInWindow.isEmpty || !finishes.isEmpty else { continue }
            let finish = finishes.last
            // A job created in the window is read from the window's start on; any other from its beginning.
            let createdInWindow = ordered.contains { $0.eventType == JobLifecycle.created && window.contains($0.timestamp!) }
            let history = createdInWindow ? ordered.filter { event in window.since.map { Self.micros(event) >= $0.rawValue } ?? true } : ordered
            let type =
                history.first(where: { $0.eventType == JobLifecycle.created }).flatMap(Self.jobType(of:))
                ?? history.first(where: { $0.eventType == JobLifecycle.started }).flatMap(Self.jobType(of:))
            let firstStart = finish.flatMap { finish in
                history.first(where: { $0.eventType == JobLifecycle.started && Self.micros($0) <= Self.micros(finish) }).map(Self.micros)
            }
            jobs.append(Job(id: id, jobType: type, startedInWindow: startsInWindow.first.map(Self.micros), finish: finish, firstStart: firstStart))
        }
        return jobs
    }

    /// The nearest-rank percentile of sorted values: the value at rank ceil(p × n / 100).
    private static func percentile(_ sorted: [Int64], _ p: Int) -> Int64? {
        guard !sorted.isEmpty else { return nil }
        return sorted[(p * sorted.count + 99) / 100 - 1]
    }

    /// Keys by their bytes, nil last: how both stores order a report's rows.
    static func keyOrder(_ lhs: String?, _ rhs: String?) -> Bool {
        switch (lhs, rhs) {
        case (nil, _): false
        case (_, nil): true
        case (let left?, let right?): Array(left.utf8).lexicographicallyPrecedes(Array(right.utf8))
        }
    }

    func jobsReport(_ request: JobsReportRequest) -> JobsReport {
        let jobs = self.jobs(request.window).filter { request.jobType == nil || $0.jobType == request.jobType }
        func duration(_ job: Job) -> Int64? {
            guard let finish = job.finish, let start = job.firstStart else { return nil }
            return Self.micros(finish) - start
        }
        let byType = Dictionary(grouping: jobs, by: \.jobType)
        let rows = byType.keys.sorted(by: Self.keyOrder).map { type -> JobsReport.Row in
            let group = byType[type] ?? []
            let durations = group.compactMap(duration).sorted()
            return JobsReport.Row(
                jobType: type, started: UInt64(group.filter { $0.startedInWindow != nil }.count),
                completed: UInt64(group.filter { $0.finish?.eventType == JobLifecycle.completed }.count),
                failed: UInt64(group.filter { $0.finish?.eventType == JobLifecycle.failed }.count),
                running: UInt64(group.filter { job in job.startedInWindow.map { start in job.finish.map { Self.micros($0) < start } ?? true } ?? false }.count),
                p50: Self.percentile(durations, 50), p95: Self.percentile(durations, 95), max: durations.last)
        }
        let slowest = jobs.compactMap { job -> JobsReport.SlowJob? in
            guard let duration = duration(job), let start = job.firstStart else { return nil }
            return JobsReport.SlowJob(
                jobID: job.id, jobType: job.jobType, failed: job.finish?.eventType == JobLifecycle.failed, durationMicros: duration,
                startedAt: LedgerTimestamp(rawValue: start))
        }.sorted { ($1.durationMicros, $0.jobID.lowercaseText) < ($0.durationMicros, $1.jobID.lowercaseText) }
        return JobsReport(
            rows: Array(rows.prefix(JobsReport.mostRows)), slowest: Array(slowest.prefix(Int(request.slowest))),
            truncated: rows.count > JobsReport.mostRows)
    }

    func failuresReport(_ request: FailuresReportRequest) -> FailuresReport {
        var counts: [String?: (total: UInt64, failed: UInt64)] = [:]
        switch request.grouping {
        case .jobType, .worker:
            for job in self.jobs(request.window) {
                guard let finish = job.finish else { continue }
                let key = request.grouping == .jobType ? job.jobType : finish.workerID
                counts[key, default: (0, 0)].total += 1
                if finish.eventType == JobLifecycle.failed { counts[key, default: (0, 0)].failed += 1 }
            }
        case .eventType:
            for event in self.events where request.window.contains(event.timestamp!) {
                counts[event.eventType, default: (0, 0)].total += 1
                if event.severity == .error { counts[event.eventType, default: (0, 0)].failed += 1 }
            }
        }
        let rows = counts.map { FailuresReport.Row(key: $0.key, total: $0.value.total, failed: $0.value.failed) }.sorted { lhs, rhs in
            if lhs.failed != rhs.failed { return lhs.failed > rhs.failed }
            if lhs.total != rhs.total { return lhs.total > rhs.total }
            return Self.keyOrder(lhs.key, rhs.key)
        }
        return FailuresReport(grouping: request.grouping, rows: Array(rows.prefix(FailuresReport.mostRows)), truncated: rows.count > FailuresReport.mostRows)
    }

    func errorsReport(_ request: ErrorsReportRequest) -> ErrorsReport {
        let window = ReportWindow(since: request.since, until: request.until)
        var counts: [String: ErrorsReport.Row] = [:]
        for event in self.events where event.severity != .info && window.contains(event.timestamp!) {
            let bucket = UInt32((Self.micros(event) - request.since.rawValue) / request.bucketMicros)
            let key = "\(bucket)\u{0}\(event.eventType)\u{0}\(event.severity.rawValue)"
            counts[key, default: ErrorsReport.Row(bucket: bucket, eventType: event.eventType, severity: event.severity, count: 0)].count += 1
        }
        let rows = counts.values.sorted { lhs, rhs in
            if lhs.bucket != rhs.bucket { return lhs.bucket < rhs.bucket }
            if lhs.eventType != rhs.eventType { return Array(lhs.eventType.utf8).lexicographicallyPrecedes(Array(rhs.eventType.utf8)) }
            return lhs.severity.rawValue < rhs.severity.rawValue
        }
        return ErrorsReport(
            since: request.since, bucketSeconds: request.bucketSeconds, bucketCount: UInt32(request.bucketCount),
            rows: Array(rows.prefix(ErrorsReport.mostRows)), truncated: rows.count > ErrorsReport.mostRows)
    }

    func timeline(_ request: TimelineRequest) -> EventsResult {
        let uuid = UUID(uuidString: request.entityID)
        var jobs: Set<UUID> = []
        var clips: Set<UUID> = []
        switch request.entityType {
        case "job":
            if let uuid {
                jobs.insert(uuid)
                clips = Set(self.events.filter { $0.jobID == uuid }.compactMap(\.clipID))
            }
        case "clip":
            if let uuid { clips.insert(uuid) }
        default:
            let key = TimelineRequest.linkKey(entityType: request.entityType)
            for event in self.events where event.eventType == JobLifecycle.created {
                guard let key, let job = event.jobID, let data = event.metadata.data(using: .utf8),
                    let object = try? JSONSerialization.jsonObject(with: data) as? [String: Any], Self.string(object[key]) == request.entityID
                else { continue }
                jobs.insert(job)
            }
            clips = Set(self.events.filter { $0.jobID.map(jobs.contains) ?? false }.compactMap(\.clipID))
        }
        let story = self.events.filter { event in
            (event.entityType == request.entityType && event.entityID == request.entityID) || (event.jobID.map(jobs.contains) ?? false)
                || (event.clipID.map(clips.contains) ?? false)
        }
        let after = request.after.map { ($0.timestamp.rawValue, $0.id.lowercaseText) }
        let page = Self.ordered(story).filter { event in after.map { (Self.micros(event), event.id.lowercaseText) > $0 } ?? true }
        return EventsResult(rows: Array(page.prefix(Int(request.limit) + 1)), limit: request.limit)
    }
}
