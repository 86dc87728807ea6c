import Foundation
import LedgerTestSupport
import Testing

/// Who may use the Unix socket: its file mode and --allow-uid, checked against another real user.
@Suite struct AccessControlTests {
    static let isRoot = getuid() == 0

    /// Runs ledger-rpc as the unprivileged `nobody` user.
    static func asNobody(_ arguments: [String]) throws -> Subprocess.Result {
        try Subprocess.run(["runuser", "-u", "nobody", "--", Binaries.url("ledger-rpc").path] + arguments)
    }

    static func openDirectory() throws -> String {
        let directory = try makeTemporaryDirectory()
        chmod(directory, 0o755)
        return directory
    }

    @Test(.enabled(if: Self.isRoot, "switching users needs root"))
    func theSocketModeKeepsOtherUsersOut() async throws {
        let daemon = try await Daemon.start(in: try Self.openDirectory())
        let refused = try Self.asNobody(["ping", "--socket", daemon.socketPath])
        #expect(refused.status == 1)
        #expect(refused.stderr.contains("Permission denied"), "\(refused.stderr)")
        await daemon.stop()
    }

    @Test(.enabled(if: Self.isRoot, "switching users needs root"))
    func allowUIDDecidesWhoMayConnectAndEveryEventCarriesItsSender() async throws {
        let nobody = try Subprocess.run(["id", "-u", "nobody"]).stdout.trimmingCharacters(in: .whitespacesAndNewlines)
        let closed = try await Daemon.start(in: try Self.openDirectory(), extraArguments: ["--socket-mode", "0666", "--allow-uid", "4242"])
        let refused = try Self.asNobody(["ping", "--socket", closed.socketPath])
        #expect(refused.status == 1)
        #expect(refused.stderr.contains("PERMISSION_DENIED") && refused.stderr.contains("uid \(nobody)"), "\(refused.stderr)")
        let owner = try await runTool("ledger-rpc", ["ping", "--socket", closed.socketPath])
        #expect(owner.status == 0, "the daemon's own uid is always allowed")
        let stats = try await runTool("ledger-rpc", ["stats", "--json", "--socket", closed.socketPath])
        #expect(stats.stdout.contains("\"connections_refused\":1"), "\(stats.stdout)")
        await closed.stop()

        let open = try await Daemon.start(in: try Self.openDirectory(), extraArguments: ["--socket-mode", "0666", "--allow-uid", nobody])
        let logged = try Self.asNobody(["log", "job_created", "job", "j-1", "--worker-id", "claims-to-be-root", "--socket", open.socketPath])
        #expect(logged.status == 0, "\(logged.stderr)")
        let query = try await runTool("ledger-rpc", ["query", "entity", "job", "j-1", "--json", "--socket", open.socketPath])
        let page = try #require(try JSONSerialization.jsonObject(with: Data(query.stdout.utf8)) as? [String: Any])
        let event = try #require((page["events"] as? [[String: Any]])?.first)
        #expect(event["peer_uid"] as? Int == Int(nobody), "the kernel's uid, not the client's claim: \(event)")
        #expect((event["peer_pid"] as? Int ?? 0) > 0)
        #expect(event["worker_id"] as? String == "claims-to-be-root")
        let table = try await runTool("ledger-rpc", ["query", "entity", "job", "j-1", "--socket", open.socketPath])
        #expect(table.stdout.contains("uid=\(nobody),pid="), "\(table.stdout)")
        await open.stop()
    }
}
