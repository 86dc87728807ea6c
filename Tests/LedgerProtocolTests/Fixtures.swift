import Foundation
import LedgerProtocol

/// Fixed values so encodings are reproducible byte for byte.
enum Fixtures {
    static let eventID = UUID(uuidString: "0190f5a2-7b3c-7d4e-8f60-123456789abc")!
    static let jobID = UUID(uuidString: "11111111-2222-4333-8444-555555555555")!
    static let clipID = UUID(uuidString: "aaaaaaaa-bbbb-4ccc-8ddd-eeeeeeeeeeee")!
    static let timestamp = LedgerTimestamp(iso8601: "2026-11-25T10:15:30.123456Z")!

    static let fullEvent = LedgerEvent(
        id: eventID, timestamp: timestamp, eventType: "clip_created", entityType: "clip",
        entityID: clipID.uuidString.lowercased(), metadata: #"{"index":1,"duration_ms":15000}"#, severity: .warn,
        workerID: "worker-7", jobID: jobID, clipID: clipID
    )

    /// As the daemon returns it: stamped with the kernel's view of the sender.
    static var sentByPeer: LedgerEvent {
        var event = fullEvent
        event.peer = PeerCredentials(uid: 1_000, pid: 42_000)
        event.sequence = 7
        return event
    }

    static let minimalEvent = LedgerEvent(
        id: eventID, eventType: "video_uploaded", entityType: "video_asset", entityID: "v-1", metadata: "{}"
    )

    static let filter = EventFilter(
        eventType: "job_processing_failed", entityType: "job", entityID: "j-1", jobID: jobID, clipID: clipID,
        severity: .error, workerID: "worker-7", since: LedgerTimestamp(rawValue: 1_000), until: LedgerTimestamp(rawValue: 2_000)
    )

    static let requests: [LedgerRequest] = [
        .ping,
        .sync,
        .stats,
        .logEvent(LogEvent(event: fullEvent)),
        .logEvent(LogEvent(event: minimalEvent, acknowledged: true)),
        .logJobEvent(LogJobEvent(id: eventID, timestamp: timestamp, jobID: jobID, eventType: "job_created", metadata: #"{"a":1}"#)),
        .logJobEvent(LogJobEvent(id: eventID, jobID: jobID, eventType: "job_processing_failed", severity: .error, workerID: "w", clipID: clipID, acknowledged: true)),
        .logClipEvent(LogClipEvent(id: eventID, timestamp: timestamp, clipID: clipID, eventType: "clip_created", jobID: jobID)),
        .logBatch(LogBatch(events: [fullEvent, minimalEvent], acknowledged: true)),
        .query(QueryRequest()),
        .query(QueryRequest(filter: filter, order: .oldestFirst, limit: 7, after: EventCursor(timestamp: timestamp, id: eventID))),
        .count(CountRequest()),
        .count(CountRequest(filter: EventFilter(severity: .error, since: timestamp))),
        .subscribe(SubscribeRequest()),
        .subscribe(SubscribeRequest(filter: filter, after: TailCursor(sequence: 42))),
        .reportGap(gap),
        .reportJobs(jobsRequest),
        .reportJobs(JobsReportRequest()),
        .reportFailures(failuresRequest),
        .reportErrors(errorsRequest),
        .timeline(timelineRequest),
        .retention,
        .timeline(TimelineRequest(entityType: "job", entityID: jobID.lowercaseText, limit: 50, after: EventCursor(timestamp: timestamp, id: eventID))),
        .treeHead,
        .prove(ProveRequest(eventID: eventID)),
        .prove(ProveRequest(eventID: eventID, treeSize: 1_000_000)),
        .treeRead(.logs),
        .treeRead(.heads(logID: logID, fromSize: 17, limit: 1_024)),
        .treeRead(.latestHead(logID: logID)),
        .treeRead(.leafRecords(logID: logID, from: 65_536, limit: 65_536)),
        .treeRead(.leafOfSequence(logID: logID, sequence: 42)),
        .treeRead(.sequenceOfEvent(eventID)),
        .treeRead(.events(afterSequence: 0, limit: 4_096)),
        .treeRead(.tombstones(afterSequence: -1, limit: 10)),
    ]

    static let logID = [UInt8](repeating: 0xAB, count: 32)
    static let head = SignedTreeHead(
        logID: logID, treeSize: 300, rootHash: [UInt8](repeating: 0x01, count: 32), timestamp: timestamp, signature: [UInt8](repeating: 0x02, count: 64))

    static let jobsRequest = JobsReportRequest(
        window: ReportWindow(since: timestamp, until: LedgerTimestamp(rawValue: timestamp.rawValue + 86_400_000_000)), jobType: "cut_analysis", slowest: 5)
    static let failuresRequest = FailuresReportRequest(window: ReportWindow(since: timestamp), grouping: .worker)
    static let errorsRequest = ErrorsReportRequest(
        since: LedgerTimestamp(rawValue: 1_764_028_800_000_000), until: LedgerTimestamp(rawValue: 1_764_633_600_000_000), bucketSeconds: 3_600)
    static let timelineRequest = TimelineRequest(entityType: "video_asset", entityID: "v-1", limit: 1_000)

    static let jobsReport = JobsReport(
        rows: [
            .init(jobType: "cut_analysis", started: 3, completed: 2, failed: 1, running: 0, p50: 600_000_000, p95: 1_800_000_000, max: 1_800_000_000),
            .init(jobType: nil, started: 0, completed: 1, failed: 0, running: 0, p50: nil, p95: nil, max: nil),
        ],
        slowest: [.init(jobID: jobID, jobType: "cut_analysis", failed: false, durationMicros: 1_800_000_000, startedAt: timestamp)])
    static let failuresReport = FailuresReport(
        grouping: .jobType, rows: [.init(key: "cut_analysis", total: 3, failed: 1), .init(key: nil, total: 1, failed: 0)], truncated: true)
    static let errorsReport = ErrorsReport(
        since: LedgerTimestamp(rawValue: 1_764_028_800_000_000), bucketSeconds: 3_600, bucketCount: 168,
        rows: [.init(bucket: 0, eventType: "job_processing_failed", severity: .error, count: 2), .init(bucket: 5, eventType: "upload_slow", severity: .warn, count: 1)])

    static let retentionStatus = RetentionStatus(
        policy: "INFO=30d,ERROR=forever",
        rules: [
            .init(rule: "INFO=30d", before: LedgerTimestamp(rawValue: 1_762_041_600_000_000), pending: 7, lastRemoved: 1_000, removedSinceStart: 1_500),
            .init(rule: "ERROR=forever", before: nil, pending: 0, lastRemoved: 0, removedSinceStart: 0),
        ],
        lastPassStarted: LedgerTimestamp(rawValue: 1_764_633_600_000_000), lastPassFinished: LedgerTimestamp(rawValue: 1_764_633_601_000_000),
        nextPass: LedgerTimestamp(rawValue: 1_764_637_201_000_000), note: "")

    static let gap = ReportGap(
        id: eventID, client: "upload-service", reason: .daemonUnreachable, events: 120, firstDropped: timestamp,
        lastDropped: LedgerTimestamp(rawValue: timestamp.rawValue + 5_000_000))

    static let responses: [LedgerResponse] = [
        .pong(Pong(server: "ledgerd/0.1.0")),
        .ack(Ack(committed: 3)),
        .events(EventsResult(events: [], next: nil)),
        .events(EventsResult(events: [fullEvent], next: EventCursor(timestamp: timestamp, id: eventID))),
        .events(EventsResult(events: [sentByPeer, minimalEvent], next: nil)),
        .tail(TailBatch(events: [])),
        .tail(TailBatch(missed: 12, events: [sentByPeer, minimalEvent])),
        .count(CountResult(count: 42)),
        .stats(StatsResult(counters: [.init("events_received", 10), .init("queue_depth", 0)], facts: [.init("store", "sqlite:/x")])),
        .error(ErrorResponse(code: .invalidEvent, message: "metadata must be a JSON object")),
        .error(ErrorResponse(code: .frameTooLarge, closesConnection: true, message: "too big")),
        .jobsReport(jobsReport),
        .jobsReport(JobsReport(rows: [], slowest: [])),
        .failuresReport(failuresReport),
        .errorsReport(errorsReport),
        .retentionStatus(retentionStatus),
        .retentionStatus(RetentionStatus(policy: "forever", rules: [], lastPassStarted: nil, lastPassFinished: nil, nextPass: nil, note: "")),
        .treeHead(TreeHeadResult(publicKey: [UInt8](repeating: 0x03, count: 32), head: head)),
        .treeHead(TreeHeadResult(publicKey: [], head: nil)),
        .inclusionProof(
            InclusionProof(
                head: head, eventID: eventID, sequence: 7, leafIndex: 6, leafHash: [UInt8](repeating: 0x04, count: 32),
                path: [[UInt8](repeating: 0x05, count: 32), [UInt8](repeating: 0x06, count: 32)])),
        .treePage(.logs([.init(logID: logID, publicKey: [UInt8](repeating: 0x03, count: 32), size: 300, root: [UInt8](repeating: 0x01, count: 32))])),
        .treePage(.logs([])),
        .treePage(.heads([head, head])),
        .treePage(.leafRecords([UInt8](repeating: 0x07, count: 112))),
        .treePage(.number(nil)),
        .treePage(.number(-3)),
        .treePage(.events([sentByPeer, minimalEvent], storedText: true)),
        .treePage(.events([], storedText: false)),
        .treePage(.tombstones([.init(sequence: 4, retention: eventID.lowercaseText), .init(sequence: 5, retention: "unrecorded")])),
    ]
}
