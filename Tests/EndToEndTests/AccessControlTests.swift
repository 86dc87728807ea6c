import Foundation
import LedgerTestSupport
import Testing

/// Who may use the Unix socket: its file mode and --allow-uid, checked against another real user.
@Suite struct AccessControlTests {
    static let isRoot = getuid() == 0

    /// Runs ledger-rpc as the unprivileged `nobody` user.
    static func asNobody(_ arguments: [String]) async throws -> Subprocess.Result {
        try await Subprocess.run(["runuser", "-u", "nobody", "--", Binaries.url("ledger-rpc").path] + arguments)
    }

    static func openDirectory() throws -> String {
        let directory = try makeTemporaryDirectory()
        chmod(directory, 0o755)
        return directory
    }

    @Test(.enabled(if: Self.isRoot, "switching users needs root"))
    func theSocketModeKeepsOtherUsersOut() async throws {
        let daemon = try await Daemon.start(in: try Self.openDirectory())
        let refused = try await Self.asNobody(["ping", "--socket", daemon.socketPath])
        #expect(refused.status == 1)
        // Says who may connect: the socket's owner and its group, by name.
        #expect(refused.stderr.contains("permission denied") && refused.stderr.contains("members of group root"), "\(refused.stderr)")
        await daemon.stop()
    }

    @Test(.enabled(if: Self.isRoot, "switching users needs root"))
    func allowUIDDecidesWhoMayConnectAndEveryEventCarriesItsSender() async throws {
        let nobody = try await Subprocess.run(["id", "-u", "nobody"]).stdout.trimmingCharacters(in: .whitespacesAndNewlines)
        let closed = try await Daemon.start(in: try Self.openDirectory(), extraArguments: ["--socket-mode", "0666", "--allow-uid", "4242"])
        let refused = try await Self.asNobody(["ping", "--socket", closed.socketPath])
        #expect(refused.status == 1)
        #expect(refused.stderr.contains("PERMISSION_DENIED") && refused.stderr.contains("uid \(nobody)"), "\(refused.stderr)")
        let owner = try await runTool("ledger-rpc", ["ping", "--socket", closed.socketPath])
        #expect(owner.status == 0, "the daemon's own uid is always allowed")
        let stats = try await runTool("ledger-rpc", ["stats", "--json", "--socket", closed.socketPath])
        #expect(stats.stdout.contains("\"connections_refused\":1"), "\(stats.stdout)")
        await closed.stop()

        let open = try await Daemon.start(in: try Self.openDirectory(), extraArguments: ["--socket-mode", "0666", "--allow-uid", nobody])
        let logged = try await Self.asNobody(["log", "job_created", "job", "j-1", "--worker-id", "claims-to-be-root", "--socket", open.socketPath])
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

    static func mode(_ path: String) -> mode_t? {
        var info = stat()
        return stat(path, &info) == 0 ? info.st_mode & 0o7777 : nil
    }

    @Test func theLedgersFilesAreTheDaemonsAlone() async throws {
        let directory = try makeTemporaryDirectory()
        // The default data directory is made 0750; a --store path's directory must exist already.
        let store = "\(directory)/data/socialsync-ledger/ledger.sqlite"
        let daemon = try await Daemon.start(in: directory, store: nil, environment: ["XDG_DATA_HOME": "\(directory)/data"])
        let logged = try await runTool("ledger-rpc", ["log", "job_created", "job", "j-1", "--socket", daemon.socketPath])
        #expect(logged.status == 0, "\(logged.stderr)")
        #expect(Self.mode("\(directory)/data/socialsync-ledger") == 0o750)
        for file in [store, store + "-wal", store + "-shm"] {
            #expect(Self.mode(file) == 0o600, "\(file)")
        }
        await daemon.stop()

        // A database someone made readable by all is taken back at the next start; its group keeps what it had.
        chmod(store, 0o644)
        let again = try await Daemon.start(in: directory, store: "sqlite:\(store)")
        #expect(Self.mode(store) == 0o640)
        #expect(again.stderr.contains("took other users' access away"), "\(again.stderr)")
        await again.stop()
    }

    @Test func aSocketDirectoryOthersMayWriteInIsRefused() async throws {
        let directory = try makeTemporaryDirectory()
        chmod(directory, 0o777)
        let result = try await runTool("ledgerd", ["--socket", "\(directory)/ledgerd.sock", "--store", "memory"])
        #expect(result.status == 1)
        #expect(result.stderr.contains("is writable by every user"), "\(result.stderr)")
        #expect(!FileManager.default.fileExists(atPath: "\(directory)/ledgerd.sock"))
    }

    /// As root the test can play the other user: a directory in /tmp made first by someone else.
    @Test(.enabled(if: Self.isRoot, "changing a directory's owner needs root"))
    func aSocketOrDataDirectoryAnotherUserMadeIsRefused() async throws {
        let directory = try makeTemporaryDirectory()
        let squatted = "\(directory)/squatted"
        try FileManager.default.createDirectory(atPath: squatted, withIntermediateDirectories: false)
        chmod(squatted, 0o755)
        chown(squatted, 65_534, 65_534)
        let socket = try await runTool("ledgerd", ["--socket", "\(squatted)/ledgerd.sock", "--store", "memory"])
        #expect(socket.status == 1)
        #expect(socket.stderr.contains("belongs to uid 65534"), "\(socket.stderr)")
        let data = try await runTool("ledgerd", ["--socket", "\(directory)/ledgerd.sock", "--store", "sqlite:\(squatted)/ledger.sqlite"])
        #expect(data.status == 1)
        #expect(data.stderr.contains("belongs to uid 65534"), "\(data.stderr)")
        #expect(!FileManager.default.fileExists(atPath: "\(squatted)/ledger.sqlite"))
    }

    /// A user's service started with no environment (cron, a bare system unit); root has /var/lib instead.
    @Test func withoutAHomeTheDaemonAsksWhereToStoreRatherThanUsingTmp() async throws {
        let directory = try makeTemporaryDirectory()
        let asUser = Self.isRoot ? ["runuser", "-u", "nobody", "--"] : []
        let result = try await Subprocess.run(asUser + ["env", "-i", Binaries.url("ledgerd").path, "--socket", "\(directory)/ledgerd.sock"])
        #expect(result.status != 0)
        #expect(result.stderr.contains("no place for the ledger"), "\(result.stderr)")
    }
}
