import Foundation
import LedgerProtocol
import Logging
import LedgerTestSupport
import Testing

@testable import LedgerStore

/// SQLite's entity, job, clip and video link indexes lead with the event's segment (its commit
/// sequence over 2^18, migrations 6 and 7), so a lookup by one of those ids seeks each segment that
/// may hold it: every segment without a filter, and each whose filter may hold the id (migration 8).
/// A store whose events sit in segments far apart, with empty ones between them, must still answer
/// every lookup, page and tail with every event once, as a store in one segment would, with the
/// filters built and with none held.
@Suite struct SQLiteSegmentTests {
    static let segment: Int64 = 1 << 18

    /// One video's story: the upload, a job made from it that runs and finishes, two clips.
    static func story(video: String, job: UUID, clips: [UUID], at start: Int64) -> [LedgerEvent] {
        func event(_ offset: Int64, _ type: String, _ entityType: String, _ entityID: String, metadata: String = "{}", clip: UUID? = nil) -> LedgerEvent {
            LedgerEvent(
                id: UUID(), timestamp: LedgerTimestamp(rawValue: start + offset), eventType: type, entityType: entityType, entityID: entityID,
                metadata: metadata, jobID: entityType == "video_asset" ? nil : job, clipID: clip)
        }
        return [
            event(0, "video_uploaded", "video_asset", video),
            event(1, "job_created", "job", job.lowercaseText, metadata: #"{"job_type":"clip_extraction","video_id":"\#(video)"}"#),
            event(2, "job_processing_started", "job", job.lowercaseText),
            event(3, "clip_created", "clip", clips[0].lowercaseText, clip: clips[0]),
            event(4, "clip_created", "clip", clips[1].lowercaseText, clip: clips[1]),
            event(5, "job_processing_completed", "job", job.lowercaseText),
        ]
    }

    /// A store whose first story sits one event to a segment (segments 0, 2, 3, 4, 5, 6, with 1
    /// empty), and whose second, of the same video, job and clips, is committed after them.
    static func spreadStore() async throws -> (TestStore, first: [LedgerEvent], second: [LedgerEvent], video: String, job: UUID, clips: [UUID]) {
        let database = try await TestStore.make(.sqlite)
        let (video, job, clips) = ("video-\(UUID().uuidString.prefix(8))", UUID(), [UUID(), UUID()])
        let first = Self.story(video: video, job: job, clips: clips, at: 1_000_000)
        let store = try await database.open()
        #expect(try await store.append(first) == first.count)
        await store.close()
        try await database.shell("UPDATE ledger_events SET seq = seq * \(Self.segment) WHERE seq > 1")
        #expect(try await database.shell("SELECT group_concat(segment, ',') FROM (SELECT segment FROM ledger_events ORDER BY seq)") == "0,2,3,4,5,6")
        let second = Self.story(video: video, job: job, clips: clips, at: 2_000_000)
        let reopened = try await database.open()
        #expect(try await reopened.append(second) == second.count)
        await reopened.close()
        return (database, first, second, video, job, clips)
    }

    static func ids(_ events: [LedgerEvent]) -> [UUID] { events.map(\.id) }

    static func path(_ database: TestStore) -> String {
        String(database.location.dropFirst("sqlite:".count))
    }

    /// The store with its finished segments' filters built and held, or with none held (every
    /// segment sought, as before the filters).
    static func open(_ database: TestStore, filtered: Bool) async throws -> SQLiteStore {
        var logger = Logger(label: "test-store")
        logger.logLevel = .warning
        let store = try await SQLiteStore(
            path: Self.path(database), migrations: nil, checkpoints: .init(), logger: logger,
            filterBudget: filtered ? SQLiteSegmentFilters.defaultBudget : 0)
        try await store.buildSegmentFilters()
        #expect(store.segmentFilters.held.filters > 0 || !filtered)
        return store
    }

    /// What `ledger_segments` gives a reader's statement for an id (SQL: a literal or NULL).
    static func segmentsSought(_ store: SQLiteStore, _ id: String) throws -> String? {
        let connection = try SQLiteConnection(path: store.path)
        try connection.provideSegments(store.segmentFilters)
        let statement = try connection.prepare(
            "SELECT ledger_segments(\(id), (SELECT min(seq) FROM ledger_events), (SELECT max(seq) FROM ledger_events))")
        return try statement.step(as: .queryFailed) ? statement.text(0) : nil
    }

    @Test(arguments: [false, true]) func everyLookupFindsEventsInEverySegment(filtered: Bool) async throws {
        let (database, first, second, video, job, clips) = try await Self.spreadStore()
        let all = first + second
        let store = try await Self.open(database, filtered: filtered)
        defer { Task { await store.close() } }

        let entity = try await store.query(QueryRequest(filter: EventFilter(entityType: "video_asset", entityID: video), order: .oldestFirst, limit: 100))
        #expect(Self.ids(entity.events) == Self.ids(all.filter { $0.entityType == "video_asset" }))
        for clip in clips {
            let byClip = try await store.query(QueryRequest(filter: EventFilter(clipID: clip), order: .oldestFirst, limit: 100))
            #expect(Self.ids(byClip.events) == Self.ids(all.filter { $0.clipID == clip }))
            let clipEntity = EventFilter(entityType: "clip", entityID: clip.lowercaseText)
            #expect(try await store.count(clipEntity) == 2)
        }
        #expect(try await store.count(EventFilter(entityType: "job", entityID: job.lowercaseText)) == 6)
        let byJob = try await store.query(QueryRequest(filter: EventFilter(jobID: job), order: .oldestFirst, limit: 100))
        #expect(Self.ids(byJob.events) == Self.ids(all.filter { $0.jobID == job }))
        #expect(try await store.count(EventFilter(eventType: "clip_created", jobID: job)) == 4)

        // A video's timeline reaches its job through the link index and the clips through the job.
        let videoTimeline = try await store.timeline(TimelineRequest(entityType: "video_asset", entityID: video))
        #expect(Self.ids(videoTimeline.events) == Self.ids(all))
        let jobTimeline = try await store.timeline(TimelineRequest(entityType: "job", entityID: job.lowercaseText))
        #expect(Self.ids(jobTimeline.events) == Self.ids(all.filter { $0.jobID == job }))
        let clipTimeline = try await store.timeline(TimelineRequest(entityType: "clip", entityID: clips[1].lowercaseText))
        #expect(Self.ids(clipTimeline.events) == Self.ids(all.filter { $0.clipID == clips[1] }))
    }

    /// The reports look a job up in every segment: its creation and first start before a window,
    /// its finishing event in it; in each window they answer as the reference over the same events.
    @Test(arguments: [false, true]) func theReportsFindAJobsEventsInEverySegment(filtered: Bool) async throws {
        let (database, first, second, _, _, _) = try await Self.spreadStore()
        let store = try await Self.open(database, filtered: filtered)
        defer { Task { await store.close() } }
        let reference = ReportReference(events: first + second)
        let windows = [
            ReportWindow(),
            // From the first story's start (segment 3) on: its creation (segment 2) is before the window.
            ReportWindow(since: LedgerTimestamp(rawValue: 1_000_002), until: LedgerTimestamp(rawValue: 1_500_000)),
            ReportWindow(since: LedgerTimestamp(rawValue: 1_000_002)),
            ReportWindow(since: LedgerTimestamp(rawValue: 2_000_002)),
        ]
        for window in windows {
            let jobs = try await store.jobsReport(JobsReportRequest(window: window))
            #expect(jobs == reference.jobsReport(JobsReportRequest(window: window)), "\(window)")
            for grouping in [FailuresReportRequest.Grouping.jobType, .worker] {
                let request = FailuresReportRequest(window: window, grouping: grouping)
                #expect(try await store.failuresReport(request) == reference.failuresReport(request), "\(window) \(grouping)")
            }
        }
        let straddling = try await store.jobsReport(JobsReportRequest(window: windows[1]))
        #expect(straddling.rows.map(\.jobType) == ["clip_extraction"], "the type comes from a creation two segments back: \(straddling)")
        #expect(straddling.rows.first?.completed == 1)
    }

    @Test(arguments: [false, true]) func pagesAndTailsCrossTheSegmentsOnce(filtered: Bool) async throws {
        let (database, first, second, video, _, _) = try await Self.spreadStore()
        let all = first + second
        let store = try await Self.open(database, filtered: filtered)
        defer { Task { await store.close() } }

        var seen: [UUID] = []
        var cursor: EventCursor?
        repeat {
            let page = try await store.timeline(TimelineRequest(entityType: "video_asset", entityID: video, limit: 1, after: cursor))
            seen += Self.ids(page.events)
            cursor = page.next
        } while cursor != nil
        #expect(seen == Self.ids(all))
        for order in [QueryRequest.Order.oldestFirst, .newestFirst] {
            var listed: [UUID] = []
            cursor = nil
            repeat {
                let page = try await store.query(QueryRequest(filter: EventFilter(entityType: "job"), order: order, limit: 2, after: cursor))
                listed += Self.ids(page.events)
                cursor = page.next
            } while cursor != nil
            let jobs = Self.ids(all.filter { $0.entityType == "job" })
            #expect(listed == (order == .oldestFirst ? jobs : jobs.reversed()))
        }
        var tailed: [UUID] = []
        var sequence: Int64 = 0
        while true {
            let batch = try await store.events(afterSequence: sequence, matching: EventFilter(entityType: "clip"), limit: 1)
            guard let last = batch.last else { break }
            tailed.append(last.id)
            sequence = try #require(last.sequence)
        }
        #expect(tailed == Self.ids(all.filter { $0.entityType == "clip" }))
    }

    /// The id index is not segmented: a retry of an event committed six segments ago is still stored once.
    @Test func aRetryOfAnEventInAnOlderSegmentIsStoredOnce() async throws {
        let (database, first, _, _, _, _) = try await Self.spreadStore()
        let store = try await database.open()
        defer { Task { await store.close() } }
        #expect(try await store.append(first) == 0)
        #expect(try await store.count(EventFilter()) == 12)
    }

    /// Once retention has removed the oldest segments' events, lookups seek only from the oldest
    /// segment left, and still find all that remains.
    @Test(arguments: [false, true]) func lookupsAfterTheOldestSegmentsAreRemoved(filtered: Bool) async throws {
        let (database, first, second, video, _, clips) = try await Self.spreadStore()
        let store = try await Self.open(database, filtered: filtered)
        defer { Task { await store.close() } }
        let rule = try RetentionPolicy(parsing: "INFO=1d").expiringRules[0]
        let selection = ExpirySelection(rule: rule, before: LedgerTimestamp(rawValue: 1_000_004), throughSequence: .max, exemptTypes: [])
        var progress = try await store.expire(selection, after: nil, limit: 100)
        while progress.last != nil { progress = try await store.expire(selection, after: progress.last, limit: 100) }
        #expect(try await database.shell("SELECT min(segment) FROM ledger_events") == "5")
        let remaining = Array(first.suffix(2)) + second
        let timeline = try await store.timeline(TimelineRequest(entityType: "video_asset", entityID: video))
        #expect(Self.ids(timeline.events) == Self.ids(remaining))
        let byClip = try await store.query(QueryRequest(filter: EventFilter(clipID: clips[1]), order: .oldestFirst))
        #expect(Self.ids(byClip.events) == Self.ids(remaining.filter { $0.clipID == clips[1] }))
        // The emptied segments' filters go with their events.
        try await store.buildSegmentFilters()
        #expect(store.segmentFilters.storedSegments == [5])
        #expect(try await database.shell("SELECT group_concat(segment) FROM ledger_segment_filters") == "5")
    }

    /// Each finished segment gets a filter (the empty one an empty filter; not the newest, which
    /// still takes events), and a lookup seeks only the segments that hold its id and the newest.
    @Test func aLookupSeeksOnlyTheSegmentsThatMayHoldItsID() async throws {
        let (database, _, _, video, job, clips) = try await Self.spreadStore()
        let store = try await Self.open(database, filtered: true)
        defer { Task { await store.close() } }
        #expect(store.segmentFilters.storedSegments == [0, 1, 2, 3, 4, 5])
        let counters = Dictionary(uniqueKeysWithValues: store.counters.map { ($0.name, $0.value) })
        #expect(counters["sqlite_segment_filters"] == 6)
        #expect(counters["sqlite_segment_filters_held"] == 6)
        let oneBlockEach: Int64 = 6 * 64
        #expect(counters["sqlite_segment_filter_bytes"] == oneBlockEach)
        // Each id once: the video; the job and the video its creation links; the job; the job and a clip, twice.
        #expect(try await database.shell("SELECT group_concat(segment || ':' || ids) FROM ledger_segment_filters") == "0:1,1:0,2:2,3:1,4:2,5:2")

        #expect(try Self.segmentsSought(store, "'\(job.lowercaseText)'") == "[2,3,4,5,6]")
        #expect(try Self.segmentsSought(store, "'\(UUID().lowercaseText)'") == "[6]")
        #expect(try Self.segmentsSought(store, "'\(clips[1].lowercaseText)'") == "[5,6]")
        #expect(try Self.segmentsSought(store, "'\(video)'") == "[0,2,6]", "the video's upload, and its job's creation by the link")
        // An id that is NULL matches no row; with no events there is no segment.
        #expect(try Self.segmentsSought(store, "NULL") == "[]")
        let statement = try SQLiteConnection(path: store.path)
        try statement.provideSegments(store.segmentFilters)
        let empty = try statement.prepare("SELECT ledger_segments('x', NULL, NULL)")
        #expect(try empty.step(as: .queryFailed) && empty.text(0) == "[]")
    }

    /// A filter's lookup names one of its ids for the segments to seek, bound before the rest: any
    /// one will do, as every row it matches has each. A type without an id seeks every segment.
    @Test func aLookupNamesOneOfItsIDs() {
        let (job, clip) = (UUID(), UUID())
        let cases: [(EventFilter, EventQuerySQL.SeekKey?, [EventQuerySQL.Value])] = [
            (EventFilter(entityType: "video_asset", entityID: "v-1"), .init("?"), [.text("v-1"), .text("video_asset"), .text("v-1")]),
            (EventFilter(entityType: "job", jobID: job), .init("?"), [.text(job.lowercaseText), .text("job")]),
            (EventFilter(entityType: "job"), .all, [.text("job")]),
            (EventFilter(jobID: job, clipID: clip), .init("?"), [.text(job.lowercaseText)]),
            (EventFilter(clipID: clip, severities: SeveritySet(.error)), .init("?"), [.text(clip.lowercaseText)]),
            (EventFilter(eventType: "job_created"), nil, []),
        ]
        for (filter, key, values) in cases {
            let sql = SQLiteStore.filterSQL(filter)
            let named = sql.conditions.first { $0.contains("segment IN") }
            #expect(named == key.map { SQLiteSegments.among(nil, $0) }, "\(filter)")
            #expect(Array(sql.values.prefix(values.count)) == values, "\(filter)")
        }
    }

    /// Filters are stored with the events: a restart holds them again without building, and a
    /// stored filter that cannot be read is built anew rather than trusted.
    @Test func filtersOutliveARestartAndABadOneIsBuiltAgain() async throws {
        let (database, _, _, _, job, _) = try await Self.spreadStore()
        let first = try await Self.open(database, filtered: true)
        await first.close()
        try await database.shell("UPDATE ledger_segment_filters SET bits = x'00' WHERE segment = 3")

        var logger = Logger(label: "test-store")
        logger.logLevel = .warning
        let store = try await SQLiteStore(path: Self.path(database), migrations: nil, checkpoints: .init(), logger: logger, filterBudget: 1 << 20)
        defer { Task { await store.close() } }
        #expect(store.segmentFilters.held.filters >= 4)
        try await store.buildSegmentFilters()
        #expect(store.segmentFilters.held.filters == 6)
        #expect(try await database.shell("SELECT length(bits) FROM ledger_segment_filters WHERE segment = 3") == "64")
        #expect(try Self.segmentsSought(store, "'\(job.lowercaseText)'") == "[2,3,4,5,6]")
    }

    /// A segment with a filter takes events again only when the newest events were removed by hand:
    /// its filter no longer holds every id in it, so it goes, whether the store is running or opened
    /// afterwards, and every new event is found.
    @Test(arguments: [false, true]) func aSegmentThatTakesEventsAgainLosesItsFilter(reopened: Bool) async throws {
        let (database, _, _, video, _, _) = try await Self.spreadStore()
        var store = try await Self.open(database, filtered: true)
        #expect(store.segmentFilters.storedSegments == [0, 1, 2, 3, 4, 5])
        if reopened { await store.close() }
        try await database.shell("DELETE FROM ledger_events WHERE segment >= 4")
        if reopened {
            store = try await Self.open(database, filtered: true)
            #expect(store.segmentFilters.storedSegments == [0, 1, 2])
        }
        defer { Task { [store] in await store.close() } }
        let (newJob, newClips) = (UUID(), [UUID(), UUID()])
        let story = Self.story(video: video, job: newJob, clips: newClips, at: 3_000_000)
        #expect(try await store.append(story) == story.count)
        #expect(try await database.shell("SELECT DISTINCT segment FROM ledger_events WHERE job_id = '\(newJob.lowercaseText)'") == "3")
        #expect(store.segmentFilters.storedSegments == [0, 1, 2])
        let byJob = try await store.query(QueryRequest(filter: EventFilter(jobID: newJob), order: .oldestFirst))
        #expect(Self.ids(byJob.events) == Self.ids(story.filter { $0.jobID == newJob }))
        let byClip = try await store.query(QueryRequest(filter: EventFilter(clipID: newClips[0]), order: .oldestFirst))
        #expect(Self.ids(byClip.events) == [story[3].id])
        let timeline = try await store.timeline(TimelineRequest(entityType: "video_asset", entityID: video))
        #expect(Self.ids(timeline.events).suffix(story.count) == Self.ids(story)[...])
    }

    /// A store made before migration 6 keeps every event, its commit number and its dedupe, and
    /// answers its lookups from the rebuilt indexes.
    @Test func aStoreFromBeforeTheSegmentsIsMigrated() async throws {
        let database = try await TestStore.make(.sqlite)
        let path = String(database.location.dropFirst("sqlite:".count))
        let all = try MigrationCatalog.embedded(backend: "sqlite")
        let before = MigrationCatalog(directory: all.directory, migrations: all.migrations.filter { $0.version < 6 })
        var logger = Logger(label: "test-store")
        logger.logLevel = .warning
        let old = try await SQLiteStore(path: path, migrations: before, checkpoints: .init(), logger: logger)
        let (video, job, clips) = ("video-old", UUID(), [UUID(), UUID()])
        let events = Self.story(video: video, job: job, clips: clips, at: 1_000_000)
        #expect(try await old.append(events) == events.count)
        let numbered = try await old.events(afterSequence: 0, matching: EventFilter(), limit: 100).map { "\($0.id) \($0.sequence ?? -1)" }
        await old.close()
        #expect(try await database.shell("SELECT count(*) FROM pragma_table_xinfo('ledger_events') WHERE name = 'segment'") == "0")

        let store = try await database.open()
        defer { Task { await store.close() } }
        #expect(try await database.shell("SELECT max(version) FROM schema_migrations") == "\(all.migrations.last?.version ?? 0)")
        #expect(try await store.append(events) == 0, "every event is still known as stored")
        let renumbered = try await store.events(afterSequence: 0, matching: EventFilter(), limit: 100).map { "\($0.id) \($0.sequence ?? -1)" }
        #expect(renumbered == numbered, "each event keeps its commit number")
        let timeline = try await store.timeline(TimelineRequest(entityType: "video_asset", entityID: video))
        #expect(Self.ids(timeline.events) == Self.ids(events))
        let byClip = try await store.query(QueryRequest(filter: EventFilter(clipID: clips[0])))
        #expect(Self.ids(byClip.events) == [events[3].id])
    }

    /// A lookup by entity, job, clip or video link seeks its id in each segment, and never reads the table
    /// or a whole index: asked of SQLite itself, with `EXPLAIN QUERY PLAN`.
    @Test func lookupsSeekEachSegment() async throws {
        let database = try await SQLitePlanTests.migrated()
        let filters = [
            EventFilter(entityType: "video_asset", entityID: "v-1"),
            EventFilter(clipID: UUID()),
            EventFilter(jobID: UUID()),
            EventFilter(eventType: "job_processing_failed", jobID: UUID()),
            EventFilter(entityType: "clip", entityID: "c-1", since: LedgerTimestamp(rawValue: 1)),
        ]
        for filter in filters {
            let sql = SQLiteStore.filterSQL(filter)
            let plan = try await SQLitePlanTests.plan(database, SQLiteStore.selectColumns + sql.whereClause + EventQuerySQL.orderClause(.newestFirst) + " LIMIT 51")
            #expect(plan.contains { $0.contains("SEARCH ledger_events USING INDEX") && $0.contains("(segment=?") }, "\(plan.joined(separator: "\n"))")
            #expect(!plan.contains { $0.contains("SCAN ledger_events") }, "\(plan.joined(separator: "\n"))")
        }
        for (type, id) in [("video_asset", "v-1"), ("job", UUID().lowercaseText), ("clip", UUID().lowercaseText)] {
            var sql = EventQuerySQL(filter: EventFilter(), placeholder: { "?\($0)" })
            ReportSQL.addTimeline(TimelineRequest(entityType: type, entityID: id), to: &sql, dialect: .sqlite(visibleThrough: 1_000))
            let plan = try await SQLitePlanTests.plan(database, SQLiteStore.selectColumns + sql.whereClause + EventQuerySQL.orderClause(.oldestFirst) + " LIMIT 1001")
            // A scan of the ids a subquery found (`top_ids`) or of a segment list is fine; of the table, under any alias, not.
            let tables: Set<Substring> = ["ledger_events", "e", "l", "k", "top_seek", "k_seek"]
            let scanned = plan.compactMap { line -> Substring? in
                let words = line.split(separator: " ")
                return words.first == "SCAN" ? words.dropFirst().first : nil
            }
            #expect(tables.isDisjoint(with: scanned), "\(type): \(plan.joined(separator: "\n"))")
            #expect(plan.contains { $0.contains("(segment=?") }, "\(type): \(plan.joined(separator: "\n"))")
            #expect(!plan.contains { $0.contains("idx_ledger_events_event_type") }, "\(type): \(plan.joined(separator: "\n"))")
            if type == "video_asset" {
                #expect(plan.contains { $0.contains("idx_ledger_events_video_link (segment=? AND <expr>=?)") }, "\(plan.joined(separator: "\n"))")
            }
        }
    }
}
