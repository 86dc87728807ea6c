import Foundation
import LedgerTestSupport
import Testing

/// ledger-bench run small against the real daemon, so the benchmark tool cannot rot;
/// the figures themselves are judged by scripts/bench.sh, never here.
@Suite struct BenchSmokeTests {
    static func json(_ result: ToolResult) throws -> [String: Any] {
        let object = try JSONSerialization.jsonObject(with: Data(result.stdout.utf8)) as? [String: Any]
        return try #require(object, "not one JSON object: \(result.stdout) \(result.stderr)")
    }

    @Test func ingestsInBothModesAndReportsTheDaemon() async throws {
        let directory = try makeTemporaryDirectory()
        let daemon = try await Daemon.start(in: directory, store: "memory:100000")
        defer { try? FileManager.default.removeItem(atPath: directory) }

        let fireAndForget = try await runTool(
            "ledger-bench", ["--socket", daemon.socketPath, "--connections", "3", "--events", "3000", "--batch", "7", "--json"])
        #expect(fireAndForget.status == 0, "\(fireAndForget.stderr)")
        let first = try Self.json(fireAndForget)
        #expect(first["mode"] as? String == "fire-and-forget")
        #expect(first["events"] as? Int == 3000)
        #expect((first["events_per_second"] as? Double ?? 0) > 0)
        #expect((first["latency_samples"] as? Int ?? 0) >= 3, "one sync per connection at least")
        #expect(first["failed"] as? Int == 0 && first["rejected"] as? Int == 0)
        #expect(first["daemon_pid"] as? Int == Int(daemon.processIdentifier), "found through SO_PEERCRED")
        #expect((first["daemon_peak_rss_mib"] as? Double ?? 0) > 1)

        let acknowledged = try await runTool(
            "ledger-bench", ["--socket", daemon.socketPath, "--connections", "2", "--events", "1001", "--ack", "--window", "4", "--json"])
        #expect(acknowledged.status == 0, "\(acknowledged.stderr)")
        let second = try Self.json(acknowledged)
        #expect(second["mode"] as? String == "ack")
        #expect(second["latency_samples"] as? Int == 1001, "one acknowledgement per event at batch 1")
        for key in ["p50_us", "p99_us", "p999_us"] {
            #expect((second[key] as? Int ?? 0) > 0, "\(key)")
        }

        // Every event sent was stored: the daemon's count is the sum of both runs.
        let count = try await runTool("ledger-rpc", ["query", "total", "--socket", daemon.socketPath])
        #expect(count.stdout.trimmingCharacters(in: .whitespacesAndNewlines) == "4001", "\(count.stdout) \(count.stderr)")

        let queries = try await runTool("ledger-bench", ["query", "--socket", daemon.socketPath, "--queries", "5", "--json"])
        #expect(queries.status == 0, "\(queries.stderr)")
        let kinds = try #require(try Self.json(queries)["kinds"] as? [String: [String: Any]])
        #expect(Set(kinds.keys) == ["recent", "job", "entity", "type_since", "warnings", "combined"])
        #expect(kinds["recent"]?["mean_rows"] as? Double == 50)

        let reports = try await runTool("ledger-bench", ["reports", "--socket", daemon.socketPath, "--runs", "2", "--json"])
        #expect(reports.status == 0, "\(reports.stderr)")
        let timings = try #require(try Self.json(reports)["reports"] as? [String: [String: Any]])
        #expect(Set(timings.keys) == ["jobs", "failures_by_job_type", "failures_by_event_type", "errors_hourly", "timeline", "video_timeline"])
        #expect(timings["video_timeline"]?["rows"] as? Int == 6, "a video, its job's four events and its two clips")
        #expect(timings["failures_by_event_type"]?["rows"] as? Int ?? 0 >= 4, "the synthetic day's event types")

        let exported = try await runTool("ledger-bench", ["export", "--socket", daemon.socketPath, "--page-size", "300", "--json"])
        #expect(exported.status == 0, "\(exported.stderr)")
        let export = try Self.json(exported)
        #expect(export["events"] as? Int == 4001, "every stored event, across 14 pages")
        #expect((export["daemon_rss_start_bytes"] as? Int ?? 0) > 0 && (export["client_rss_max_bytes"] as? Int ?? 0) > 0)

        let cost = try await runTool("ledger-bench", ["client-cost", "--socket", daemon.socketPath, "--calls", "2000", "--json"])
        let costs = try Self.json(cost)
        #expect(costs["daemon_reachable"] as? Bool == true)
        #expect(costs["dropped"] as? Int == 0)
        await daemon.stop()
    }

    @Test func soakKeepsTheAcknowledgedIdsAndCountsDropsUnderOverload() async throws {
        let directory = try makeTemporaryDirectory()
        let daemon = try await Daemon.start(in: directory, extraArguments: ["--queue-capacity", "1000"])
        defer { try? FileManager.default.removeItem(atPath: directory) }

        let ids = "\(directory)/acked.txt"
        let acknowledged = try await runTool(
            "ledger-bench", ["soak", "--socket", daemon.socketPath, "--connections", "6", "--duration", "1", "--ack", "--acked-ids", ids, "--json"])
        #expect(acknowledged.status == 0, "\(acknowledged.stderr)")
        let first = try Self.json(acknowledged)
        #expect(first["errors"] as? Int == 0)
        let written = try String(contentsOfFile: ids, encoding: .utf8).split(separator: "\n")
        #expect(written.count == first["acknowledged"] as? Int && !written.isEmpty)
        let stored = try await Subprocess.run(["sqlite3", daemon.storePath, "SELECT id FROM ledger_events"]).stdout.split(separator: "\n")
        #expect(Set(stored) == Set(written), "the store holds exactly the acknowledged events")

        // Far more than a small queue takes, into 1 KiB client buffers: the clients must drop, and say so.
        let overload = try await runTool(
            "ledger-bench",
            ["soak", "--socket", daemon.socketPath, "--connections", "4", "--duration", "2", "--rate", "400000", "--client-buffer", "1024", "--json"])
        #expect(overload.status == 0, "\(overload.stderr)")
        let second = try Self.json(overload)
        let dropped = try #require(second["dropped_buffer_full"] as? Int)
        #expect(dropped > 0, "\(overload.stdout)")
        #expect(second["drops_unreported"] as? Int == 0)
        #expect(second["daemon_events_dropped_by_clients"] as? Int == dropped, "every drop became a gap record")
        await daemon.stop()
    }

    @Test func aMissingDaemonIsAOneLineError() async throws {
        let result = try await runTool("ledger-bench", ["--socket", "/tmp/ledger-no-such-daemon.sock", "--events", "10"])
        #expect(result.status != 0)
        #expect(result.stderr.contains("/tmp/ledger-no-such-daemon.sock"), "\(result.stderr)")
        let down = try await runTool("ledger-bench", ["client-cost", "--socket", "/tmp/ledger-no-such-daemon.sock", "--calls", "1000", "--json"])
        let costs = try Self.json(down)
        #expect(costs["daemon_reachable"] as? Bool == false)
        #expect(costs["sent"] as? Int == 0 && costs["dropped"] as? Int == 11_000)
    }

    @Test func generatedRowsLoadIntoTheStoresSchema() async throws {
        let directory = try makeTemporaryDirectory()
        defer { try? FileManager.default.removeItem(atPath: directory) }
        let daemon = try await Daemon.start(in: directory)
        await daemon.stop()
        let generated = try await runTool("ledger-bench", ["generate", "--events", "120", "--format", "sqlite", "--first-seq", "1"])
        #expect(generated.status == 0)
        let csv = "\(directory)/rows.csv"
        try generated.stdout.write(toFile: csv, atomically: true, encoding: .utf8)
        let load = try await Subprocess.run([
            "sqlite3", daemon.storePath,
            "-cmd", "CREATE TEMP TABLE staging (id, timestamp, event_type, entity_type, entity_id, event_data, severity, worker_id, job_id, clip_id, peer_uid, peer_pid, seq)",
            "-cmd", ".import --csv \(csv) staging",
            """
            INSERT INTO ledger_events (id, timestamp, event_type, entity_type, entity_id, event_data, severity, worker_id, job_id, clip_id, peer_uid, peer_pid, seq)
              SELECT id, CAST(timestamp AS INTEGER), event_type, entity_type, entity_id, event_data, severity, NULLIF(worker_id, ''), NULLIF(job_id, ''),
                NULLIF(clip_id, ''), CAST(peer_uid AS INTEGER), CAST(peer_pid AS INTEGER), CAST(seq AS INTEGER) FROM staging
            """,
        ])
        #expect(load.status == 0, "\(load.stderr)")
        // The daemon reads the loaded rows back as valid events.
        let restarted = try await Daemon.start(in: directory)
        let total = try await runTool("ledger-rpc", ["query", "total", "--socket", restarted.socketPath])
        #expect(total.stdout.trimmingCharacters(in: .whitespacesAndNewlines) == "120", "\(total.stdout) \(total.stderr)")
        let recent = try await runTool("ledger-rpc", ["query", "recent", "--limit", "5", "--json", "--socket", restarted.socketPath])
        #expect(recent.status == 0 && recent.stdout.contains("\"bucket\""), "\(recent.stderr)")
        await restarted.stop()
    }
}
