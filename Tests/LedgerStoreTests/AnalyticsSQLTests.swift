import Foundation
import LedgerProtocol
import LedgerTestSupport
import Testing

@testable import LedgerStore

/// The SQL in docs/analytics, for people at psql or sqlite3, answers the same on both stores:
/// each store's own file runs on a store the daemon wrote, and prints the same rows.
@Suite struct AnalyticsSQLTests {
    static let analytics = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
        .appendingPathComponent("docs/analytics")

    static func run(_ name: String, on database: TestStore) async throws -> [String] {
        let directory = database.kind == .postgres ? "postgres" : "sqlite"
        let sql = try String(contentsOf: Self.analytics.appendingPathComponent("\(directory)/\(name).sql"), encoding: .utf8)
        let output = try await database.shell(sql)
        return output.isEmpty ? [] : output.split(separator: "\n").map(String.init)
    }

    static func hour(_ micros: Int64) -> String {
        let formatter = DateFormatter()
        formatter.locale = Locale(identifier: "en_US_POSIX")
        formatter.timeZone = TimeZone(identifier: "UTC")
        formatter.dateFormat = "yyyy-MM-dd'T'HH':00Z'"
        return formatter.string(from: Date(timeIntervalSince1970: Double(micros / 1_000_000)))
    }

    @Test(arguments: StoreKind.durable)
    func eachQueryAnswersAlikeOnBothStores(kind: StoreKind) async throws {
        let database = try await TestStore.make(kind)
        let store = try await database.open()
        let realNow = Int64(Date().timeIntervalSince1970 * 1_000_000)
        let now = realNow - 3_600_000_000
        var events: [LedgerEvent] = []
        var failedAt: Int64 = 0
        // Three clip_extraction jobs (one fails) and one transcode job; job i runs for (i + 1) minutes.
        for (index, jobType) in ["clip_extraction", "clip_extraction", "clip_extraction", "transcode"].enumerated() {
            let jobID = UUID()
            let start = now + Int64(index) * 1_000_000
            func event(_ type: String, _ offset: Int64, _ metadata: String = "{}") -> LedgerEvent {
                LedgerEvent(
                    id: UUID(), timestamp: LedgerTimestamp(rawValue: start + offset), eventType: type, entityType: "job",
                    entityID: jobID.uuidString.lowercased(), metadata: metadata, severity: type.hasSuffix("failed") ? .error : .info,
                    workerID: "w-\(index)", jobID: jobID)
            }
            events.append(event("job_created", 0, #"{"job_type": "\#(jobType)"}"#))
            events.append(event("job_processing_started", 1_000))
            let outcome = index == 1 ? "job_processing_failed" : "job_processing_completed"
            events.append(event(outcome, 1_000 + Int64(index + 1) * 60_000_000))
            if index == 1 { failedAt = start + 1_000 + Int64(index + 1) * 60_000_000 }
        }
        // A transcode job created eight days ago that ran for 30 s within the week: its type is
        // found by its id, outside the week's own creations.
        let lateJob = UUID()
        for (type, at) in [("job_created", realNow - 8 * 86_400_000_000), ("job_processing_started", now + 10_000_000), ("job_processing_completed", now + 40_000_000)] {
            events.append(
                LedgerEvent(
                    id: UUID(), timestamp: LedgerTimestamp(rawValue: at), eventType: type, entityType: "job", entityID: lateJob.uuidString.lowercased(),
                    metadata: type == "job_created" ? #"{"job_type": "transcode"}"# : "{}", workerID: "w-4", jobID: lateJob))
        }
        // Five rejected uploads at one instant three hours ago: a spike against a quiet day.
        let rejectedAt = realNow - 3 * 3_600_000_000
        for index in 0..<5 {
            events.append(
                LedgerEvent(
                    id: UUID(), timestamp: LedgerTimestamp(rawValue: rejectedAt), eventType: "upload_rejected", entityType: "video_asset",
                    entityID: "v-\(index)", severity: .error))
        }
        _ = try await store.append(events)
        await store.close()

        let slowest = try await Self.run("slowest_jobs", on: database).map { $0.split(separator: "|", omittingEmptySubsequences: false).map(String.init) }
        #expect(slowest.map { $0[1] } == ["transcode", "clip_extraction", "clip_extraction", "transcode"], "slowest first, the failed job left out: \(slowest)")
        #expect(slowest.map { $0[2] } == ["00:04:00", "00:03:00", "00:01:00", "00:00:30"])
        #expect(slowest.map { $0[3] } == ["w-3", "w-2", "w-0", "w-4"])

        #expect(try await Self.run("failure_rate_by_job_type", on: database) == ["clip_extraction|3|1|33.3", "transcode|2|0|0.0"])

        // Each series has one busy hour among 24: (n - n/24) / sd, 4.8 for any n.
        #expect(
            try await Self.run("errors_per_hour", on: database) == [
                "\(Self.hour(rejectedAt))|ERROR|upload_rejected|5|4.8", "\(Self.hour(failedAt))|ERROR|job_processing_failed|1|4.8",
            ], "\(kind)")
        withExtendedLifetime(database) {}
    }
}
