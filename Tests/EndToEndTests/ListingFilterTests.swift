import Foundation
import LedgerTestSupport
import Testing

/// Every listing narrows by the same filters, against the real daemon.
@Suite struct ListingFilterTests {
    static func events(_ result: ToolResult) throws -> [[String: Any]] {
        let object = try #require(try JSONSerialization.jsonObject(with: Data(result.stdout.utf8)) as? [String: Any], "\(result.stderr)")
        return try #require(object["events"] as? [[String: Any]])
    }

    @Test func everyFilterNarrowsAndAContradictionIsRefused() async throws {
        let directory = try makeTemporaryDirectory()
        let daemon = try await Daemon.start(in: directory)
        let socket = ["--socket", daemon.socketPath]
        let job = UUID().uuidString.lowercased()
        let clip = UUID().uuidString.lowercased()
        let logs: [[String]] = [
            ["job_processing_failed", "job", job, "--severity", "ERROR", "--worker-id", "w-3"],
            ["job_processing_failed", "job", UUID().uuidString.lowercased(), "--severity", "ERROR", "--worker-id", "w-1"],
            ["clip_created", "clip", clip, "--job-id", job, "--worker-id", "w-3"],
            ["video_uploaded", "video_asset", "v-1", "--severity", "WARN"],
        ]
        for arguments in logs {
            let logged = try await runTool("ledger-rpc", ["log"] + arguments + socket)
            #expect(logged.status == 0, "\(logged.stderr)")
        }
        let cases: [([String], Int)] = [
            (["query", "events", "--worker", "w-3"], 2),
            (["query", "events", "--worker", "w-3", "--type", "clip_created"], 1),
            (["query", "events", "--clip", clip], 1),
            (["query", "events", "--severity", "WARN"], 1),
            (["query", "events", "--severity", "WARN,ERROR"], 3),
            (["query", "events", "--severity", "INFO", "--severity", "WARN"], 2),
            (["query", "events", "--min-severity", "WARN", "--worker", "w-3"], 1),
            (["query", "errors", "--min-severity", "ERROR"], 2),
            (["query", "events", "--until", "1d"], 0),
            (["query", "errors", "--worker", "w-1"], 1),
            (["query", "job", job, "--type", "clip_created"], 1),
            (["query", "recent", "--entity", "video_asset", "v-1"], 1),
            (["query", "type", "job_processing_failed", "--since", "1h", "--worker", "w-3"], 1),
        ]
        for (arguments, expected) in cases {
            let listed = try await runTool("ledger-rpc", arguments + ["--json"] + socket)
            #expect(listed.status == 0, "\(arguments): \(listed.stderr)")
            #expect(try Self.events(listed).count == expected, "\(arguments): \(listed.stdout)")
        }
        let contradiction = try await runTool("ledger-rpc", ["query", "type", "job_processing_failed", "--type", "clip_created"] + socket)
        #expect(contradiction.status == 2, "\(contradiction.stdout)")
        #expect(contradiction.stderr.contains("--type and the type name different events"), "\(contradiction.stderr)")
        for arguments in [["tail", "--until", "1h"], ["tail", "-n", "3", "--after", "020000000000000000"], ["tail", "-n", "10001"]] {
            let refused = try await runTool("ledger-rpc", arguments + socket)
            #expect(refused.status == 2, "\(arguments): \(refused.stdout)")
            #expect(refused.stderr.contains(arguments[1]), "\(arguments): \(refused.stderr)")
        }
        await daemon.stop()
        try? FileManager.default.removeItem(atPath: directory)
    }

    /// Runs a tail in the background with its standard output in a file, so the test can wait
    /// for the replay to be printed before it logs what the tail must then follow.
    struct BackgroundTail {
        let output: String
        let run: Task<Subprocess.Result, any Error>

        init(_ arguments: [String], in directory: String) {
            let output = directory + "/tail-\(UUID().uuidString).out"
            let command = ([Binaries.url("ledger-rpc").path] + arguments).map { "'\($0)'" }.joined(separator: " ")
            self.output = output
            self.run = Task { try await Subprocess.run(["/bin/sh", "-c", "exec \(command) > '\(output)'"], deadline: 120) }
        }

        func lines() -> [String] {
            ((try? String(contentsOfFile: self.output, encoding: .utf8)) ?? "").split(separator: "\n").map(String.init)
        }

        func waitForLines(_ count: Int) async throws {
            for _ in 0..<1_200 where self.lines().count < count {
                try await Task.sleep(for: .milliseconds(25))
            }
            #expect(self.lines().count >= count, "the tail printed \(self.lines())")
        }

        func entities() -> [String] {
            self.lines().compactMap { line in
                (try? JSONSerialization.jsonObject(with: Data(line.utf8)) as? [String: Any])?["entity_id"] as? String
            }
        }
    }

    /// -n and --since replay the past, then follow from exactly where the replay stopped: nothing
    /// older than asked, nothing twice, nothing committed afterwards missed, the filter throughout.
    @Test func tailReplaysThePastThenFollows() async throws {
        let directory = try makeTemporaryDirectory()
        let daemon = try await Daemon.start(in: directory)
        let socket = ["--socket", daemon.socketPath]
        func log(_ type: String, _ id: String) async throws {
            let logged = try await runTool("ledger-rpc", ["log", type, "job", id] + socket)
            #expect(logged.status == 0, "\(logged.stderr)")
        }
        for index in 0..<2 { try await log("probe", "j-\(index)") }
        try await Task.sleep(for: .milliseconds(20))
        let middle = Date()
        try await Task.sleep(for: .milliseconds(20))
        for index in 2..<4 { try await log("probe", "j-\(index)") }
        try await log("noise", "n-0")

        let last = BackgroundTail(["tail", "-n", "2", "--type", "probe", "--json", "--max-events", "3"] + socket, in: directory)
        try await last.waitForLines(2)
        let since = BackgroundTail(
            ["tail", "--since", "@\(middle.timeIntervalSince1970)", "--type", "probe", "--json", "--max-events", "3"] + socket,
            in: directory)
        try await since.waitForLines(2)
        try await log("noise", "n-1")
        try await log("probe", "j-4")

        for tail in [last, since] {
            let result = try await tail.run.value
            #expect(result.status == 0, "\(result.stderr)")
        }
        #expect(last.entities() == ["j-2", "j-3", "j-4"], "\(last.lines())")
        #expect(since.entities() == ["j-2", "j-3", "j-4"], "\(since.lines())")
        let many = try await runTool("ledger-rpc", ["tail", "-n", "50", "--max-events", "5", "--json"] + socket)
        #expect(many.status == 0, "\(many.stderr)")
        #expect(many.stdout.split(separator: "\n").count == 5, "fewer past events than -n: all of them, up to --max-events")
        await daemon.stop()
        try? FileManager.default.removeItem(atPath: directory)
    }
}
