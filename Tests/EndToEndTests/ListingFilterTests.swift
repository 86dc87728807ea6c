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
        let pastTail = try await runTool("ledger-rpc", ["tail", "--since", "1h"] + socket)
        #expect(pastTail.status == 2 && pastTail.stderr.contains("query events --since"), "\(pastTail.stderr)")
        await daemon.stop()
        try? FileManager.default.removeItem(atPath: directory)
    }
}
