import Foundation
import LedgerTestSupport
import Testing

/// `ledger-rpc health`'s three answers, each with its exit status and one line.
@Suite struct HealthTests {
    @Test func okThenDownWhenTheDaemonIsGone() async throws {
        let directory = try makeTemporaryDirectory()
        defer { try? FileManager.default.removeItem(atPath: directory) }
        let daemon = try await Daemon.start(in: directory)
        let ok = try await runTool("ledger-rpc", ["health", "--socket", daemon.socketPath])
        #expect(ok.status == 0 && ok.stdout.hasPrefix("ok: ledgerd/") && ok.stdout.contains("backlog 0"), "\(ok.stdout) \(ok.stderr)")
        #expect(ok.stdout.split(separator: "\n").count == 1)
        await daemon.stop()
        let down = try await runTool("ledger-rpc", ["health", "--socket", daemon.socketPath, "--timeout", "2"])
        #expect(down.status == 2 && down.stdout.hasPrefix("down: "), "\(down.stdout) \(down.stderr)")
        #expect(down.stdout.contains(daemon.socketPath))
        let bad = try await runTool("ledger-rpc", ["health", "--max-backlog", "-1", "--socket", daemon.socketPath])
        #expect(bad.status == 2 && bad.stderr.contains("--max-backlog"))
    }

    @Test(.enabled(if: TestPostgres.uri != nil || TestPostgres.isRequired))
    func degradedWhileTheStoreIsAway() async throws {
        let server = try await TestPostgres.PrivateServer.start()
        let directory = try makeTemporaryDirectory()
        defer { try? FileManager.default.removeItem(atPath: directory) }
        let daemon = try await Daemon.start(in: directory, store: server.uri, extraArguments: ["--store-check-interval", "1"])
        #expect(try await runTool("ledger-rpc", ["health", "--socket", daemon.socketPath]).status == 0)
        try await server.stop()
        var degraded = try await runTool("ledger-rpc", ["health", "--socket", daemon.socketPath])
        for _ in 0..<100 where degraded.status == 0 {
            try await Task.sleep(for: .milliseconds(100))
            degraded = try await runTool("ledger-rpc", ["health", "--socket", daemon.socketPath])
        }
        #expect(degraded.status == 1 && degraded.stdout.hasPrefix("degraded: ") && degraded.stdout.contains("unavailable"), "\(degraded.stdout)")
        try await server.start()
        var back = degraded
        for _ in 0..<150 where back.status != 0 {
            try await Task.sleep(for: .milliseconds(100))
            back = try await runTool("ledger-rpc", ["health", "--socket", daemon.socketPath])
        }
        #expect(back.status == 0, "\(back.stdout)")
        await daemon.stop()
        withExtendedLifetime(server) {}
    }
}
