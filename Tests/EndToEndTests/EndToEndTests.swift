import Foundation
import LedgerProtocol
import LedgerTestSupport
import Testing

/// The built `ledgerd`, `ledger-rpc` and `ledger-demo`, as separate processes on a real socket and SQLite file.
@Suite struct EndToEndTests {
    @Test(arguments: StoreKind.durable)
    func theDemosTimelineComesBackNewestFirst(kind: StoreKind) async throws {
        let directory = try makeTemporaryDirectory()
        let database = try await TestStore.make(kind)
        let daemon = try await Daemon.start(in: directory, store: database.location)
        let demo = try await runTool(
            "ledger-demo", ["--videos", "4", "--clips", "2", "--fail-every", "2", "--step-delay-ms", "2", "--socket", daemon.socketPath])
        #expect(demo.status == 0, "\(demo.stderr)")

        let recent = try await runTool("ledger-rpc", ["query", "recent", "--limit", "100", "--json", "--socket", daemon.socketPath])
        #expect(recent.status == 0, "\(recent.stderr)")
        let page = try #require(try JSONSerialization.jsonObject(with: Data(recent.stdout.utf8)) as? [String: Any])
        let events = try #require(page["events"] as? [[String: Any]])
        // Two videos succeed (6 events each with their 2 clips), two fail (4 events each).
        #expect(events.count == 20)
        #expect(page["total"] as? Int == 20 && page["limit"] as? Int == 100)
        let timestamps = events.compactMap { $0["timestamp"] as? String }
        #expect(timestamps.count == events.count)
        #expect(timestamps == timestamps.sorted(by: >), "newest first")
        for key in ["id", "timestamp", "event_type", "entity_type", "entity_id", "metadata", "severity", "worker_id", "job_id", "clip_id"] {
            #expect(events.allSatisfy { $0.keys.contains(key) }, "every event has \(key)")
        }

        let oldestFirst = events.reversed().compactMap { $0["event_type"] as? String }
        let completed = ["video_uploaded", "job_created", "job_processing_started", "job_processing_completed", "clip_created", "clip_created"]
        let failed = ["video_uploaded", "job_created", "job_processing_started", "job_processing_failed"]
        #expect(oldestFirst == completed + failed + completed + failed)
        let failures = events.filter { $0["event_type"] as? String == "job_processing_failed" }
        #expect(failures.allSatisfy { $0["severity"] as? String == "ERROR" })

        let total = try await runTool("ledger-rpc", ["query", "total", "--socket", daemon.socketPath])
        #expect(total.stdout.trimmingCharacters(in: .whitespacesAndNewlines) == "20")
        let errors = try await runTool("ledger-rpc", ["query", "errors", "--count", "--since", "1h", "--socket", daemon.socketPath])
        #expect(errors.stdout.trimmingCharacters(in: .whitespacesAndNewlines) == "2")

        await daemon.stop()
        withExtendedLifetime(database) {}
        try? FileManager.default.removeItem(atPath: directory)
    }

    @Test(arguments: StoreKind.durable)
    func anAcknowledgedEventSurvivesKill9(kind: StoreKind) async throws {
        let directory = try makeTemporaryDirectory()
        let database = try await TestStore.make(kind)
        let daemon = try await Daemon.start(in: directory, store: database.location)
        let logged = try await runTool(
            "ledger-rpc",
            ["log", "job_processing_completed", "job", "job-42", "--metadata", #"{"clips": 3}"#, "--worker-id", "w-7", "--socket", daemon.socketPath])
        #expect(logged.status == 0, "\(logged.stderr)")
        let id = logged.stdout.trimmingCharacters(in: .whitespacesAndNewlines)
        #expect(UUID(uuidString: id) != nil, "ledger-rpc log prints the event id, got \(id)")

        daemon.signal(SIGKILL)
        #expect(await daemon.waitForExit() == 128 + SIGKILL)

        let restarted = try await Daemon.start(in: directory, store: database.location)
        let timeline = try await runTool("ledger-rpc", ["query", "entity", "job", "job-42", "--json", "--socket", restarted.socketPath])
        let page = try #require(try JSONSerialization.jsonObject(with: Data(timeline.stdout.utf8)) as? [String: Any])
        let events = try #require(page["events"] as? [[String: Any]])
        #expect(events.map { $0["id"] as? String } == [id])
        #expect((events.first?["metadata"] as? [String: Any])?["clips"] as? Int == 3)
        #expect(events.first?["worker_id"] as? String == "w-7")
        await restarted.stop()
        withExtendedLifetime(database) {}
        try? FileManager.default.removeItem(atPath: directory)
    }

    @Test func aClientOutlivesTheDaemonAndReachesItsSuccessor() async throws {
        let directory = try makeTemporaryDirectory()
        let daemon = try await Daemon.start(in: directory)
        // A demo far longer than the test, stopped by SIGTERM once the successor has its events,
        // so however slow a (sanitized) ledgerd is to come back, the demo is still at work.
        let demo = try ChildProcess([
            Binaries.url("ledger-demo").path, "--videos", "10000", "--clips", "1", "--fail-every", "0", "--step-delay-ms", "10",
            "--print-drops", "--socket", daemon.socketPath,
        ])
        defer { demo.signal(SIGKILL) }
        try await Self.waitForEvents(atLeast: 20, socket: daemon.socketPath)
        daemon.signal(SIGKILL)
        _ = await daemon.waitForExit()
        try await Task.sleep(for: .milliseconds(300))

        let restarted = try await Daemon.start(in: directory)
        let atRestart = try await Self.total(socket: restarted.socketPath)
        try await Self.waitForEvents(atLeast: atRestart + 20, socket: restarted.socketPath)
        #expect(demo.isRunning, "the demo keeps running through the restart: \(demo.stderr)")
        demo.signal(SIGTERM)
        let status = try await withDeadline(seconds: 60) { await demo.waitForExit() }
        #expect(status == 0, "SIGTERM ends the demo cleanly: \(demo.stderr)")
        let finished = ToolResult(status: status ?? -1, stdout: "", stderr: demo.stderr)

        // What the demo dropped while the daemon was away, it reported: the gap records add up to its own count.
        let summary = try #require(
            finished.stderr.firstMatch(of: /dropped (\d+) events; (\d+) of them not yet reported/), "the demo dropped events: \(finished.stderr)")
        #expect(Int(summary.2) == 0)
        let gaps = try await runTool("ledger-rpc", ["query", "gaps", "--json", "--socket", restarted.socketPath])
        #expect(gaps.status == 0, "\(gaps.stderr)")
        let page = try #require(try JSONSerialization.jsonObject(with: Data(gaps.stdout.utf8)) as? [String: Any])
        let records = try #require(page["gaps"] as? [[String: Any]])
        #expect(!records.isEmpty)
        #expect(records.allSatisfy { ($0["client"] as? String)?.hasPrefix("ledger-demo/") == true })
        #expect(records.allSatisfy { $0["reason"] as? String == "daemon_unreachable" })
        #expect(page["events_dropped"] as? Int == Int(summary.1))
        let table = try await runTool("ledger-rpc", ["query", "gaps", "--client", "ledger-demo/worker", "--socket", restarted.socketPath])
        #expect(table.stdout.hasPrefix("FIRST_DROPPED"), "\(table.stdout)")
        #expect(!table.stdout.contains("ledger-demo/uploads"))
        await restarted.stop()
        try? FileManager.default.removeItem(atPath: directory)
    }

    @Test func sigtermStopsCleanlyAndRemovesTheSocket() async throws {
        let directory = try makeTemporaryDirectory()
        let daemon = try await Daemon.start(in: directory)
        let demo = try await runTool("ledger-demo", ["--videos", "20", "--fail-every", "0", "--socket", daemon.socketPath])
        #expect(demo.status == 0)
        daemon.signal(SIGTERM)
        #expect(await daemon.waitForExit() == 0)
        #expect(!FileManager.default.fileExists(atPath: daemon.socketPath))

        let restarted = try await Daemon.start(in: directory)
        #expect(try await Self.total(socket: restarted.socketPath) == 20 * 6)
        await restarted.stop()
        try? FileManager.default.removeItem(atPath: directory)
    }

    @Test func ledgerRPCTailResumesFromTheCursorItPrinted() async throws {
        let directory = try makeTemporaryDirectory()
        let daemon = try await Daemon.start(in: directory)
        for index in 0..<3 {
            _ = try await runTool("ledger-rpc", ["log", "clip_created", "clip", "c-\(index)", "--socket", daemon.socketPath])
        }
        // Catch up from the start: every stored event after commit 0, then stop after two.
        let start = "02" + String(repeating: "0", count: 16)
        let first = try await runTool("ledger-rpc", ["tail", "--after", start, "--max-events", "2", "--json", "--socket", daemon.socketPath])
        #expect(first.status == 0, "\(first.stderr)")
        let lines = first.stdout.split(separator: "\n").map { try? JSONSerialization.jsonObject(with: Data($0.utf8)) as? [String: Any] }
        #expect(lines.map { $0?["entity_id"] as? String } == ["c-0", "c-1"])
        let cursor = try #require(lines.last??["tail_cursor"] as? String)

        for index in 3..<5 {
            _ = try await runTool("ledger-rpc", ["log", "clip_created", "clip", "c-\(index)", "--socket", daemon.socketPath])
        }
        let resumed = try await runTool(
            "ledger-rpc", ["tail", "--after", cursor, "--max-events", "3", "--show-cursor", "--socket", daemon.socketPath])
        #expect(resumed.status == 0, "\(resumed.stderr)")
        let shown = resumed.stdout.split(separator: "\n")
        let entities = shown.filter { $0.contains("clip_created") }.compactMap { line in line.split(separator: " ").first { $0.hasPrefix("clip:") } }
        #expect(entities == ["clip:c-2", "clip:c-3", "clip:c-4"], "\(resumed.stdout)")
        #expect(shown.last?.hasPrefix("-- cursor: ") == true, "\(resumed.stdout)")

        let bad = try await runTool("ledger-rpc", ["tail", "--after", "zz", "--socket", daemon.socketPath])
        #expect(bad.status != 0 && bad.stderr.contains("--after"))
        await daemon.stop()
        try? FileManager.default.removeItem(atPath: directory)
    }

    @Test func withoutADaemonTheToolsSayWhereTheyLooked() async throws {
        let directory = try makeTemporaryDirectory()
        let socket = "\(directory)/ledgerd.sock"
        let query = try await runTool("ledger-rpc", ["query", "recent", "--socket", socket])
        #expect(query.status != 0)
        let lines = query.stderr.split(separator: "\n")
        #expect(lines.count == 1 && lines[0].contains(socket), "\(query.stderr)")

        let demo = try await runTool("ledger-demo", ["--videos", "3", "--socket", socket])
        #expect(demo.status == 0)
        #expect(!demo.stdout.lowercased().contains("ledger") && demo.stderr.isEmpty, "the demo says nothing about the ledger")
        try? FileManager.default.removeItem(atPath: directory)
    }

    @Test func badFlagsGetAOneLineError() async throws {
        let directory = try makeTemporaryDirectory()
        let cases: [[String]] = [
            ["--socket", "\(directory)/s.sock", "--store", "oracle://db"],
            ["--socket", "\(directory)/s.sock", "--store", "sqlite:\(directory)/no/such/dir/ledger.sqlite", "--commit-batch", "0"],
            ["--socket", "\(directory)/s.sock", "--socket-mode", "999"],
        ]
        for arguments in cases {
            let result = try await runTool("ledgerd", arguments)
            #expect(result.status != 0, "\(arguments)")
            #expect(!result.stderr.isEmpty, "\(arguments)")
            #expect(!FileManager.default.fileExists(atPath: "\(directory)/s.sock"))
        }
        try? FileManager.default.removeItem(atPath: directory)
    }

    static func total(socket: String) async throws -> Int {
        let result = try await runTool("ledger-rpc", ["query", "total", "--socket", socket])
        guard result.status == 0, let total = Int(result.stdout.trimmingCharacters(in: .whitespacesAndNewlines)) else {
            throw ToolFailure(result: result)
        }
        return total
    }

    static func waitForEvents(atLeast count: Int, socket: String) async throws {
        for _ in 0..<600 {
            if let total = try? await self.total(socket: socket), total >= count { return }
            try await Task.sleep(for: .milliseconds(50))
        }
        throw ToolFailure(result: ToolResult(status: -1, stdout: "", stderr: "fewer than \(count) events arrived"))
    }

    /// An event whose metadata holds C1 controls and bidirectional overrides inside its strings
    /// (valid JSON) is shown with them escaped, in tables, in --json and in a tail.
    @Test func storedControlCharactersNeverReachTheTerminalRaw() async throws {
        let daemon = try await Daemon.start(in: try makeTemporaryDirectory())
        let hostile = "{\"note\":\"\u{9B}31m \u{202E}gnp.exe \u{85}\"}"
        let logged = try await runTool("ledger-rpc", ["log", "clip_created", "clip", "c-1", "--metadata", hostile, "--socket", daemon.socketPath])
        #expect(logged.status == 0, "\(logged.stderr)")
        let refused = try await runTool("ledger-rpc", ["log", "clip_created", "clip", "c-\u{9B}2", "--socket", daemon.socketPath])
        #expect(refused.status == 1 && refused.stderr.contains("U+009B"), "an identifier may not hold one: \(refused.stderr)")
        let unsafe: Set<UInt32> = [0x9B, 0x202E, 0x85]
        for arguments in [["query", "recent"], ["query", "recent", "--json"], ["tail", "--after", TailCursor(sequence: 0).token, "--max-events", "1"]] {
            let shown = try await runTool("ledger-rpc", arguments + ["--socket", daemon.socketPath])
            #expect(shown.status == 0, "\(arguments): \(shown.stderr)")
            #expect(shown.stdout.contains("gnp.exe"), "\(arguments): \(shown.stdout)")
            #expect(!shown.stdout.unicodeScalars.contains { unsafe.contains($0.value) }, "\(arguments) printed a control raw: \(shown.stdout.debugDescription)")
        }
        let json = try await runTool("ledger-rpc", ["query", "recent", "--json", "--socket", daemon.socketPath])
        let parsed = try JSONSerialization.jsonObject(with: Data(json.stdout.utf8)) as? [String: Any]
        let events = parsed?["events"] as? [[String: Any]]
        #expect((events?.first?["metadata"] as? [String: Any])?["note"] as? String == "\u{9B}31m \u{202E}gnp.exe \u{85}", "the value survives the escaping")
        await daemon.stop()
    }
}

struct ToolFailure: Error, CustomStringConvertible {
    var result: ToolResult
    var description: String { "status \(result.status): \(result.stderr)" }

}
