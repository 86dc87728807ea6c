import Foundation
import LedgerTestSupport
import Testing

/// `ledger-rpc report` and `timeline` against the real daemon, on what the demo orchestrator logged.
@Suite struct ReportCommandTests {
    static func object(_ result: ToolResult) throws -> [String: Any] {
        let object = try JSONSerialization.jsonObject(with: Data(result.stdout.utf8)) as? [String: Any]
        return try #require(object, "not one JSON object: \(result.stdout) \(result.stderr)")
    }

    @Test func theReportsAnswerForTheDemoOrchestrator() async throws {
        let directory = try makeTemporaryDirectory()
        defer { try? FileManager.default.removeItem(atPath: directory) }
        let daemon = try await Daemon.start(in: directory)
        let socket = ["--socket", daemon.socketPath]
        let demo = try await runTool("ledger-demo", ["--videos", "6", "--clips", "2", "--fail-every", "3", "--step-delay-ms", "1"] + socket)
        #expect(demo.status == 0, "\(demo.stderr)")

        let jobs = try Self.object(try await runTool("ledger-rpc", ["report", "jobs", "--since", "1h", "--json"] + socket))
        let types = try #require(jobs["job_types"] as? [[String: Any]])
        #expect(types.count == 1 && types[0]["job_type"] as? String == "clip_extraction", "\(types)")
        #expect(types[0]["started"] as? Int == 6 && types[0]["completed"] as? Int == 4 && types[0]["failed"] as? Int == 2)
        #expect(types[0]["running"] as? Int == 0)
        let slowest = try #require(jobs["slowest"] as? [[String: Any]])
        #expect(slowest.count == 6, "every finished job, slowest first")
        let durations = slowest.compactMap { $0["duration_seconds"] as? Double }
        #expect(durations == durations.sorted(by: >) && durations.allSatisfy { $0 > 0 })

        let table = try await runTool("ledger-rpc", ["report", "jobs"] + socket)
        #expect(table.stdout.hasPrefix("JOB_TYPE") && table.stdout.contains("clip_extraction") && table.stdout.contains("slowest:"), "\(table.stdout)")

        let failures = try Self.object(try await runTool("ledger-rpc", ["report", "failures", "--by", "event_type", "--json"] + socket))
        let rows = try #require(failures["rows"] as? [[String: Any]])
        #expect(rows.first?["key"] as? String == "job_processing_failed" && rows.first?["failed"] as? Int == 2, "\(rows)")
        #expect(rows.first?["failure_rate"] as? Double == 1.0)

        let errors = try Self.object(try await runTool("ledger-rpc", ["report", "errors", "--since", "1h", "--bucket", "5m", "--json"] + socket))
        #expect((12...13).contains(errors["bucket_count"] as? Int ?? 0), "an hour of 5-minute buckets, the first aligned below --since")
        let series = try #require(errors["series"] as? [[String: Any]])
        #expect(series.map { $0["event_type"] as? String } == ["job_processing_failed"] && series.first?["total"] as? Int == 2, "\(series)")
        let start = try #require((series.first?["buckets"] as? [[String: Any]])?.first?["start"] as? String)
        #expect(start.range(of: #":[0-5][05]:00\.000000Z$"#, options: .regularExpression) != nil, "aligned to five minutes: \(start)")

        let listed = try await runTool("ledger-rpc", ["query", "type", "video_uploaded", "--limit", "1", "--json"] + socket)
        let video = try #require((try ListingFilterTests.events(listed)).first?["entity_id"] as? String)
        let story = try ListingFilterTests.events(try await runTool("ledger-rpc", ["timeline", "video_asset", video, "--json"] + socket))
        let kinds = story.compactMap { $0["event_type"] as? String }
        #expect(kinds.first == "video_uploaded" && kinds.contains("job_created") && kinds.contains("job_processing_started"), "\(kinds)")
        #expect(Set(story.compactMap { $0["job_id"] as? String }).count == 1, "one job per video in the demo")

        for (arguments, flag) in [
            (["report", "errors", "--bucket", "0s"], "--bucket"), (["report", "jobs", "--slowest", "101"], "--slowest"),
            (["report", "jobs", "--since", "lately"], "--since"), (["report", "failures", "--by", "host"], "--by"),
            (["report", "errors", "--since", "400d", "--bucket", "1m"], "buckets"),
        ] {
            let refused = try await runTool("ledger-rpc", arguments + socket)
            #expect(refused.status == 2 && refused.stderr.contains(flag), "\(arguments): \(refused.stderr)")
        }
        await daemon.stop()
    }

    /// A store made before the event type index carried the job type is migrated on the next start,
    /// which says so before it begins (on a large store it takes a while), and the reports answer
    /// as they did.
    @Test func aStoreFromBeforeTheJobTypeIndexIsMigratedAndSaysSo() async throws {
        let directory = try makeTemporaryDirectory()
        defer { try? FileManager.default.removeItem(atPath: directory) }
        var daemon = try await Daemon.start(in: directory)
        let socket = ["--socket", daemon.socketPath]
        let demo = try await runTool("ledger-demo", ["--videos", "4", "--clips", "1", "--fail-every", "2", "--step-delay-ms", "1"] + socket)
        #expect(demo.status == 0, "\(demo.stderr)")
        let report = ["report", "jobs", "--json"] + socket
        let before = try await runTool("ledger-rpc", report)
        #expect(try Self.object(before)["job_types"] != nil, "\(before.stdout)")
        await daemon.stop()

        // The schema as migration 4 left it.
        _ = try await sqlite(
            daemon.storePath,
            """
            DELETE FROM schema_migrations WHERE name = 'cover_the_job_reports';
            DROP INDEX idx_ledger_events_event_type;
            ALTER TABLE ledger_events DROP COLUMN job_type;
            CREATE INDEX idx_ledger_events_event_type ON ledger_events (event_type, timestamp, id);
            """)
        #expect(try await sqlite(daemon.storePath, "SELECT count(*) FROM pragma_table_xinfo('ledger_events') WHERE name = 'job_type'") == "0")

        daemon = try await Daemon.start(in: directory)
        let log = daemon.stderr
        let applying = try #require(log.range(of: "notice ledgerd: name=cover_the_job_reports version="), "\(log)")
        let applied = try #require(log.range(of: "applied migration"), "\(log)")
        #expect(applying.lowerBound < applied.lowerBound && log.contains("applying migration"), "\(log)")
        #expect(try await sqlite(daemon.storePath, "SELECT count(*) FROM pragma_table_xinfo('ledger_events') WHERE name = 'job_type'") == "1")
        let after = try await runTool("ledger-rpc", report)
        #expect(after.stdout == before.stdout, "\(before.stdout)\n\(after.stdout)")
        #expect((try Self.object(after)["job_types"] as? [[String: Any]])?.first?["job_type"] as? String == "clip_extraction")
        await daemon.stop()
    }
}
