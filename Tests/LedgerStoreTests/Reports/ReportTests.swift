import Foundation
import LedgerProtocol
import LedgerTestSupport
import Testing

@testable import LedgerStore

/// The reports and the timeline against answers worked out by hand for one fixed day of the
/// orchestrator, the same on every store: the memory store's Swift and both SQL dialects.
@Suite struct ReportTests {
    static let t0: Int64 = 1_800_000_000_000_000
    static let minute: Int64 = 60_000_000

    static func job(_ n: Int) -> UUID { UUID(uuidString: String(format: "00000000-0000-7000-8000-0000000000%02d", n))! }
    static func clip(_ n: Int) -> UUID { UUID(uuidString: String(format: "00000000-0000-7000-9000-0000000000%02d", n))! }

    /// Numbered as in the comments of `dataSet`, so an expected answer names events by number.
    static func id(_ n: Int) -> UUID { UUID(uuidString: String(format: "01000000-0000-7000-8000-0000000000%02d", n))! }

    /// Seven jobs: J1–J3 cut_analysis (J1 done in 10 min, J2 failed after 3, J3 done in 30), J4
    /// transcode still running, J5 transcode failed once then done 22 min after its first start, J6
    /// typed only by its start (thumbnail, 1 min), J7 completed with no start and no type.
    static func dataSet() -> [LedgerEvent] {
        func at(_ minutes: Int64) -> LedgerTimestamp { LedgerTimestamp(rawValue: t0 + minutes * minute) }
        func jobEvent(_ n: Int, _ job: Int, _ type: String, _ minutes: Int64, _ metadata: String = "{}", severity: Severity = .info, worker: String? = nil)
            -> LedgerEvent
        {
            LedgerEvent(
                id: id(n), timestamp: at(minutes), eventType: type, entityType: "job", entityID: Self.job(job).lowercaseText, metadata: metadata,
                severity: severity, workerID: worker, jobID: Self.job(job))
        }
        func other(_ n: Int, _ type: String, _ entityType: String, _ entityID: String, _ minutes: Int64, severity: Severity = .info, job: UUID? = nil, clip: UUID? = nil)
            -> LedgerEvent
        {
            LedgerEvent(id: id(n), timestamp: at(minutes), eventType: type, entityType: entityType, entityID: entityID, severity: severity, jobID: job, clipID: clip)
        }
        return [
            other(1, "video_uploaded", "video_asset", "v-1", 0),
            jobEvent(2, 1, "job_created", 0, #"{"job_type":"cut_analysis","video_id":"v-1"}"#),
            jobEvent(3, 2, "job_created", 0, #"{"job_type":"cut_analysis","video_id":"v-1"}"#),
            jobEvent(4, 3, "job_created", 0, #"{"job_type":"cut_analysis","video_id":"v-2"}"#),
            jobEvent(5, 4, "job_created", 0, #"{"job_type":"transcode"}"#),
            jobEvent(6, 5, "job_created", 0, #"{"job_type":"transcode"}"#),
            jobEvent(7, 1, "job_processing_started", 1),
            jobEvent(8, 2, "job_processing_started", 2),
            jobEvent(9, 3, "job_processing_started", 3),
            jobEvent(10, 4, "job_processing_started", 4),
            jobEvent(11, 5, "job_processing_started", 5),
            jobEvent(12, 2, "job_processing_failed", 5, #"{"error":"codec"}"#, severity: .error, worker: "w-2"),
            jobEvent(13, 5, "job_processing_failed", 6, severity: .error, worker: "w-2"),
            jobEvent(14, 5, "job_processing_started", 7),
            jobEvent(15, 6, "job_processing_started", 8, #"{"job_type":"thumbnail"}"#),
            jobEvent(16, 6, "job_processing_completed", 9),
            jobEvent(17, 7, "job_processing_completed", 10),
            jobEvent(18, 1, "job_processing_completed", 11, worker: "w-1"),
            other(19, "clip_created", "clip", clip(1).lowercaseText, 11, job: job(1), clip: clip(1)),
            jobEvent(20, 5, "job_processing_completed", 27, worker: "w-3"),
            jobEvent(21, 3, "job_processing_completed", 33, worker: "w-1"),
            other(22, "upload_slow", "video_asset", "v-1", 1, severity: .warn),
            other(23, "clip_failed", "clip", clip(2).lowercaseText, 61, severity: .error, job: job(3), clip: clip(2)),
            other(24, "upload_slow", "video_asset", "v-2", 62, severity: .warn),
            other(25, "clip_published", "clip", clip(1).lowercaseText, 70, clip: clip(1)),
        ]
    }

    static func withData(_ kind: StoreKind, _ body: (any EventStore) async throws -> Void) async throws {
        try await EventStoreTests.withStore(kind) { (store: any EventStore) async throws in
            #expect(try await store.append(Self.dataSet()) == 25)
            try await body(store)
        }
    }

    static func minutes(_ n: Int64) -> Int64 { n * minute }

    @Test(arguments: StoreKind.allCases)
    func jobsOverTheWholeLedger(kind: StoreKind) async throws {
        try await Self.withData(kind) { (store: any EventStore) async throws in
            let report = try await store.jobsReport(JobsReportRequest(slowest: 3))
            #expect(
                report.rows == [
                    JobsReport.Row(jobType: "cut_analysis", started: 3, completed: 2, failed: 1, running: 0, p50: Self.minutes(10), p95: Self.minutes(30), max: Self.minutes(30)),
                    JobsReport.Row(jobType: "thumbnail", started: 1, completed: 1, failed: 0, running: 0, p50: Self.minutes(1), p95: Self.minutes(1), max: Self.minutes(1)),
                    JobsReport.Row(jobType: "transcode", started: 2, completed: 1, failed: 0, running: 1, p50: Self.minutes(22), p95: Self.minutes(22), max: Self.minutes(22)),
                    JobsReport.Row(jobType: nil, started: 0, completed: 1, failed: 0, running: 0, p50: nil, p95: nil, max: nil),
                ], "\(kind)")
            #expect(report.slowest.map(\.jobID) == [Self.job(3), Self.job(5), Self.job(1)], "\(kind)")
            #expect(report.slowest.map(\.durationMicros) == [Self.minutes(30), Self.minutes(22), Self.minutes(10)])
            #expect(report.slowest.map(\.jobType) == ["cut_analysis", "transcode", "cut_analysis"])
            #expect(report.slowest[1].startedAt.rawValue == Self.t0 + Self.minutes(5), "from the first start, before the failure")
            #expect(!report.truncated && report.slowest.allSatisfy { !$0.failed })
        }
    }

    @Test(arguments: StoreKind.allCases)
    func jobsInAWindowAndOfOneType(kind: StoreKind) async throws {
        try await Self.withData(kind) { (store: any EventStore) async throws in
            let window = ReportWindow(since: LedgerTimestamp(rawValue: Self.t0 + Self.minutes(6)), until: LedgerTimestamp(rawValue: Self.t0 + Self.minutes(30)))
            let report = try await store.jobsReport(JobsReportRequest(window: window, slowest: 10))
            #expect(
                report.rows == [
                    JobsReport.Row(jobType: "cut_analysis", started: 0, completed: 1, failed: 0, running: 0, p50: Self.minutes(10), p95: Self.minutes(10), max: Self.minutes(10)),
                    JobsReport.Row(jobType: "thumbnail", started: 1, completed: 1, failed: 0, running: 0, p50: Self.minutes(1), p95: Self.minutes(1), max: Self.minutes(1)),
                    JobsReport.Row(jobType: "transcode", started: 1, completed: 1, failed: 0, running: 0, p50: Self.minutes(22), p95: Self.minutes(22), max: Self.minutes(22)),
                    JobsReport.Row(jobType: nil, started: 0, completed: 1, failed: 0, running: 0, p50: nil, p95: nil, max: nil),
                ], "\(kind)")
            #expect(report.slowest.map(\.jobID) == [Self.job(5), Self.job(1), Self.job(6)])
            let transcode = try await store.jobsReport(JobsReportRequest(jobType: "transcode", slowest: 0))
            #expect(transcode.rows.map(\.jobType) == ["transcode"] && transcode.slowest.isEmpty)
            #expect(transcode.rows.first?.running == 1)
            let nothing = try await store.jobsReport(JobsReportRequest(window: ReportWindow(since: LedgerTimestamp(rawValue: Self.t0 + Self.minutes(600)))))
            #expect(nothing.rows.isEmpty && nothing.slowest.isEmpty)
        }
    }

    @Test(arguments: StoreKind.allCases)
    func failuresByEachGrouping(kind: StoreKind) async throws {
        try await Self.withData(kind) { (store: any EventStore) async throws in
            func rows(_ grouping: FailuresReportRequest.Grouping) async throws -> [String] {
                try await store.failuresReport(FailuresReportRequest(grouping: grouping)).rows.map { "\($0.key ?? "-") \($0.failed)/\($0.total)" }
            }
            #expect(try await rows(.jobType) == ["cut_analysis 1/3", "thumbnail 0/1", "transcode 0/1", "- 0/1"], "\(kind)")
            #expect(try await rows(.worker) == ["w-2 1/1", "w-1 0/2", "- 0/2", "w-3 0/1"], "\(kind)")
            #expect(
                try await rows(.eventType) == [
                    "job_processing_failed 2/2", "clip_failed 1/1", "job_processing_started 0/7", "job_created 0/5", "job_processing_completed 0/5",
                    "upload_slow 0/2", "clip_created 0/1", "clip_published 0/1", "video_uploaded 0/1",
                ], "\(kind)")
            let late = FailuresReportRequest(window: ReportWindow(since: LedgerTimestamp(rawValue: Self.t0 + Self.minutes(60))), grouping: .eventType)
            #expect(try await store.failuresReport(late).rows.map(\.key) == ["clip_failed", "clip_published", "upload_slow"])
        }
    }

    @Test(arguments: StoreKind.allCases)
    func errorsPerBucket(kind: StoreKind) async throws {
        try await Self.withData(kind) { (store: any EventStore) async throws in
            let request = ErrorsReportRequest(
                since: LedgerTimestamp(rawValue: Self.t0), until: LedgerTimestamp(rawValue: Self.t0 + Self.minutes(120)), bucketSeconds: 3_600)
            let report = try await store.errorsReport(request)
            #expect(report.bucketCount == 2 && report.since.rawValue == Self.t0)
            #expect(
                report.rows == [
                    ErrorsReport.Row(bucket: 0, eventType: "job_processing_failed", severity: .error, count: 2),
                    ErrorsReport.Row(bucket: 0, eventType: "upload_slow", severity: .warn, count: 1),
                    ErrorsReport.Row(bucket: 1, eventType: "clip_failed", severity: .error, count: 1),
                    ErrorsReport.Row(bucket: 1, eventType: "upload_slow", severity: .warn, count: 1),
                ], "\(kind)")
            let tenMinutes = try await store.errorsReport(
                ErrorsReportRequest(since: LedgerTimestamp(rawValue: Self.t0 + Self.minutes(5)), until: LedgerTimestamp(rawValue: Self.t0 + Self.minutes(65)), bucketSeconds: 600))
            #expect(tenMinutes.bucketCount == 6)
            #expect(tenMinutes.rows.map { "\($0.bucket) \($0.eventType) \($0.count)" } == ["0 job_processing_failed 2", "5 clip_failed 1", "5 upload_slow 1"], "\(kind)")
        }
    }

    @Test(arguments: StoreKind.allCases)
    func aTimelineHoldsTheLinkedJobsAndClips(kind: StoreKind) async throws {
        try await Self.withData(kind) { (store: any EventStore) async throws in
            func story(_ type: String, _ id: String, pageSize: UInt32 = 1_000) async throws -> [UUID] {
                var events: [LedgerEvent] = []
                var cursor: EventCursor?
                repeat {
                    let page = try await store.timeline(TimelineRequest(entityType: type, entityID: id, limit: pageSize, after: cursor))
                    events += page.events
                    cursor = page.next
                } while cursor != nil
                let keys = events.map { ($0.timestamp!.rawValue, $0.id.lowercaseText) }
                #expect(zip(keys, keys.dropFirst()).allSatisfy { $0 < $1 }, "oldest first")
                return events.map(\.id)
            }
            let video = Set([1, 2, 3, 7, 8, 12, 18, 19, 22, 25].map(Self.id))
            #expect(Set(try await story("video_asset", "v-1")) == video, "\(kind)")
            #expect(try await story("video_asset", "v-1", pageSize: 3) == (try await story("video_asset", "v-1")), "paged, nothing skipped or repeated")
            #expect(Set(try await story("job", Self.job(1).lowercaseText)) == Set([2, 7, 18, 19, 25].map(Self.id)), "\(kind)")
            #expect(try await story("clip", Self.clip(2).lowercaseText) == [Self.id(23)])
            #expect(Set(try await story("video_asset", "v-2")) == Set([4, 9, 21, 23, 24].map(Self.id)), "\(kind)")
            #expect(try await story("video_asset", "v-9").isEmpty)
            // Ids that read as UUIDs, for every kind of entity: each store binds only what its SQL names.
            for type in ["video_asset", "job", "clip", "odd\"type"] {
                #expect(try await story(type, UUID().lowercaseText).isEmpty, "\(kind) \(type)")
            }
            // An entity type whose link key could break out of a JSON path links nothing, and breaks nothing.
            #expect(try await story("odd\"type", "v-1").isEmpty)
        }
    }

    /// A job created in the window is read from the window's start on; one created before it is
    /// looked up there. J8 was created as `old` at minute 0 and started at 1, then created again as
    /// `new` at 20 and started at 21; J9 was created and started before the window only.
    @Test(arguments: StoreKind.allCases)
    func aJobCreatedInTheWindowIsReadFromTheWindowOn(kind: StoreKind) async throws {
        func at(_ minutes: Int64) -> LedgerTimestamp { LedgerTimestamp(rawValue: Self.t0 + minutes * Self.minute) }
        func event(_ n: Int, _ job: Int, _ type: String, _ minutes: Int64, _ metadata: String = "{}") -> LedgerEvent {
            LedgerEvent(
                id: Self.id(n), timestamp: at(minutes), eventType: type, entityType: "job", entityID: Self.job(job).lowercaseText, metadata: metadata,
                jobID: Self.job(job))
        }
        let events = [
            event(1, 8, "job_created", 0, #"{"job_type":"old"}"#),
            event(2, 8, "job_processing_started", 1),
            event(3, 9, "job_created", 2, #"{"job_type":"kept"}"#),
            event(4, 9, "job_processing_started", 3),
            event(5, 8, "job_created", 20, #"{"job_type":"new"}"#),
            event(6, 8, "job_processing_started", 21),
            event(7, 8, "job_processing_completed", 25),
            event(8, 9, "job_processing_completed", 26),
        ]
        try await EventStoreTests.withStore(kind) { (store: any EventStore) async throws in
            #expect(try await store.append(events) == 8)
            let report = try await store.jobsReport(JobsReportRequest(window: ReportWindow(since: at(10), until: at(60)), slowest: 10))
            #expect(
                report.rows == [
                    JobsReport.Row(jobType: "kept", started: 0, completed: 1, failed: 0, running: 0, p50: Self.minutes(23), p95: Self.minutes(23), max: Self.minutes(23)),
                    JobsReport.Row(jobType: "new", started: 1, completed: 1, failed: 0, running: 0, p50: Self.minutes(4), p95: Self.minutes(4), max: Self.minutes(4)),
                ], "\(kind)")
            #expect(report.slowest.map(\.startedAt) == [at(3), at(21)], "\(kind)")
            // Over the whole ledger J8's history begins at its first creation, as before.
            let whole = try await store.jobsReport(JobsReportRequest(slowest: 10))
            #expect(whole.rows.map(\.jobType) == ["kept", "old"] && whole.slowest.map(\.durationMicros) == [Self.minutes(24), Self.minutes(23)], "\(kind)")
            #expect(try await store.jobsReport(JobsReportRequest(window: ReportWindow(since: at(10)))) == ReportReference(events: events).jobsReport(JobsReportRequest(window: ReportWindow(since: at(10)))))
        }
    }

    /// The memory store's Swift is the definition; over random days, the SQL stores agree with it.
    /// Spread over two hours, and crowded into 40 seconds so that a job's completion and failure
    /// often share an instant and the later id must decide.
    @Test(arguments: StoreKind.durable, [7_200, 40] as [UInt64])
    func theStoresAgreeWithTheDefinitionOnRandomData(kind: StoreKind, seconds: UInt64) async throws {
        var random = SplitMix64(state: 21 + seconds)
        var events: [LedgerEvent] = []
        let types = ["job_created", "job_processing_started", "job_processing_completed", "job_processing_failed", "clip_created"]
        for index in 0..<600 {
            let job = Self.job(Int(random.next() % 40))
            let type = types[Int(random.next() % UInt64(types.count))]
            let jobType = ["a", "b", "c"][Int(random.next() % 3)]
            events.append(
                LedgerEvent(
                    id: UUID.ledgerV7(unixMilliseconds: 5_000 + UInt64(index)), timestamp: LedgerTimestamp(rawValue: Self.t0 + Int64(random.next() % seconds) * 1_000_000),
                    eventType: type, entityType: "job", entityID: job.lowercaseText,
                    metadata: random.next() % 9 == 0
                        // Not strings: neither a type nor a link, on every store.
                        ? "{\"job_type\":\(random.next() % 3),\"video_id\":{\"v\":1}}"
                        : (type == "job_created" || random.next() % 4 == 0 ? "{\"job_type\":\"\(jobType)\",\"video_id\":\"v-\(random.next() % 5)\"}" : "{}"),
                    severity: type == "job_processing_failed" ? .error : (random.next() % 5 == 0 ? .warn : .info),
                    workerID: random.next() % 3 == 0 ? nil : "w-\(random.next() % 4)", jobID: job))
        }
        let reference = ReportReference(events: events)
        try await EventStoreTests.withStore(kind) { (store: any EventStore) async throws in
            _ = try await store.append(events)
            for window in [
                ReportWindow(), ReportWindow(since: LedgerTimestamp(rawValue: Self.t0 + 1_800_000_000)),
                ReportWindow(since: LedgerTimestamp(rawValue: Self.t0 + 600_000_000), until: LedgerTimestamp(rawValue: Self.t0 + 3_600_000_000)),
            ] {
                let jobs = JobsReportRequest(window: window, slowest: 20)
                #expect(try await store.jobsReport(jobs) == reference.jobsReport(jobs), "\(kind) \(window)")
                for grouping in FailuresReportRequest.Grouping.allCases {
                    let failures = FailuresReportRequest(window: window, grouping: grouping)
                    #expect(try await store.failuresReport(failures) == reference.failuresReport(failures), "\(kind) \(grouping)")
                }
            }
            let errors = ErrorsReportRequest(since: LedgerTimestamp(rawValue: Self.t0), until: LedgerTimestamp(rawValue: Self.t0 + 7_200_000_000), bucketSeconds: 300)
            #expect(try await store.errorsReport(errors) == reference.errorsReport(errors), "\(kind)")
            for video in 0..<5 {
                let request = TimelineRequest(entityType: "video_asset", entityID: "v-\(video)", limit: 1_000)
                #expect(try await store.timeline(request).events.map(\.id) == reference.timeline(request).events.map(\.id), "\(kind) v-\(video)")
            }
        }
    }
}
