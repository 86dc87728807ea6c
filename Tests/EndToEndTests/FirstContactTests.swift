import Foundation
import LedgerProtocol
import LedgerTestSupport
import Testing

/// What a new user meets in the first hour, on the real binaries.
@Suite struct FirstContactTests {
    static func json(_ text: String) throws -> [String: Any] {
        try #require(try JSONSerialization.jsonObject(with: Data(text.utf8)) as? [String: Any])
    }

    @Test func aSecondDaemonOnTheSameSQLiteFileIsRefused() async throws {
        let directory = try makeTemporaryDirectory()
        let first = try await Daemon.start(in: directory)
        let second = try await runTool("ledgerd", ["--socket", "\(directory)/other.sock", "--store", "sqlite:\(first.storePath)"])
        #expect(second.status == 1)
        let lines = second.stderr.split(separator: "\n").filter { !$0.contains(" warning ") && !$0.contains(" notice ") }
        #expect(lines.count == 1 && lines[0].contains(first.storePath) && lines[0].contains("pid \(first.processIdentifier)"), "\(second.stderr)")
        #expect(!FileManager.default.fileExists(atPath: "\(directory)/other.sock"))
        await first.stop()
        // Once the first has stopped, the file is free.
        let again = try await Daemon.start(in: directory)
        await again.stop()
        try? FileManager.default.removeItem(atPath: directory)
    }

    @Test func mistypedPathsAreRefusedNotCreated() async throws {
        let directory = try makeTemporaryDirectory()
        let socket = try await runTool("ledgerd", ["--socket", "\(directory)/no/such/dir/l.sock", "--store", "memory"])
        #expect(socket.status == 1 && socket.stderr.contains("\(directory)/no/such/dir does not exist"), "\(socket.stderr)")
        let store = try await runTool("ledgerd", ["--socket", "\(directory)/l.sock", "--store", "sqlite:\(directory)/nonexistent/dir/x.sqlite"])
        #expect(store.status == 1 && store.stderr.contains("\(directory)/nonexistent/dir does not exist"), "\(store.stderr)")
        #expect(!FileManager.default.fileExists(atPath: "\(directory)/no"))
        #expect(!FileManager.default.fileExists(atPath: "\(directory)/nonexistent"))
        try? FileManager.default.removeItem(atPath: directory)
    }

    /// A signing key that cannot be used is found before the store is touched: no store made, no
    /// migration applied to one that is there.
    @Test func anUnusableSigningKeyIsRefusedBeforeTheStoreIsOpened() async throws {
        let directory = try makeTemporaryDirectory()
        defer { try? FileManager.default.removeItem(atPath: directory) }
        let publicHalf = "\(directory)/key.pub"
        _ = try await runTool("ledger-rpc", ["keygen", "\(directory)/key"])
        try FileManager.default.setAttributes([.posixPermissions: 0o600], ofItemAtPath: publicHalf)
        let readable = "\(directory)/readable.key"
        try FileManager.default.copyItem(atPath: "\(directory)/key", toPath: readable)
        try FileManager.default.setAttributes([.posixPermissions: 0o644], ofItemAtPath: readable)
        for (key, says) in [(publicHalf, "it holds a PUBLIC KEY"), (readable, "chmod 600"), ("\(directory)/missing.key", "ledger-rpc keygen")] {
            let store = "\(directory)/ledger.sqlite"
            let result = try await runTool("ledgerd", ["--socket", "\(directory)/l.sock", "--store", "sqlite:\(store)", "--signing-key", key])
            #expect(result.status == 1, "\(key): \(result.stderr)")
            #expect(result.stderr.contains(key) && result.stderr.contains(says), "\(key): \(result.stderr)")
            #expect(!result.stderr.contains("applied migration"), "\(key): \(result.stderr)")
            #expect(!FileManager.default.fileExists(atPath: store), "\(key): a store was made")
        }
    }

    /// README's shell example: a job's event logged by its UUID is found by `query job`.
    @Test func theReadmeExampleFindsItsOwnEvent() async throws {
        let directory = try makeTemporaryDirectory()
        let daemon = try await Daemon.start(in: directory)
        let job = UUID().uuidString.lowercased()
        let logged = try await runTool(
            "ledger-rpc",
            ["log", "job_processing_failed", "job", job, "--severity", "ERROR", "--metadata", #"{"reason":"timeout"}"#, "--socket", daemon.socketPath])
        #expect(logged.status == 0, "\(logged.stderr)")
        let found = try await runTool("ledger-rpc", ["query", "job", job, "--json", "--socket", daemon.socketPath])
        let events = try #require(try Self.json(found.stdout)["events"] as? [[String: Any]])
        #expect(events.count == 1 && events[0]["job_id"] as? String == job, "\(found.stdout)")
        let clip = UUID().uuidString.lowercased()
        _ = try await runTool("ledger-rpc", ["log", "clip_created", "clip", clip, "--job-id", job, "--socket", daemon.socketPath])
        let clipEvents = try await runTool("ledger-rpc", ["query", "job", job, "--json", "--socket", daemon.socketPath])
        let both = try #require(try Self.json(clipEvents.stdout)["events"] as? [[String: Any]])
        #expect(both.count == 2 && both[1]["clip_id"] as? String == clip)
        await daemon.stop()
        try? FileManager.default.removeItem(atPath: directory)
    }

    /// `log` prints its id first; `--id` makes a retry store once; no answer is its own exit status.
    @Test func aLogWithoutAnAnswerSaysItMayBeStoredAndARetryStoresOnce() async throws {
        let directory = try makeTemporaryDirectory()
        // A socket that accepts and never answers, as a daemon whose store is down does.
        let silent = "\(directory)/silent.sock"
        let listener = try Self.listening(at: silent)
        let unanswered = try await runTool("ledger-rpc", ["log", "job_created", "job", "j-1", "--timeout", "1", "--socket", silent])
        close(listener)
        #expect(unanswered.status == 3, "\(unanswered.stderr)")
        let id = unanswered.stdout.trimmingCharacters(in: .whitespacesAndNewlines)
        #expect(UUID(uuidString: id) != nil, "the id comes before the wait: \(unanswered.stdout)")
        #expect(unanswered.stderr.contains("may still be stored") && unanswered.stderr.contains("--id \(id)"), "\(unanswered.stderr)")

        let daemon = try await Daemon.start(in: directory)
        for _ in 0..<2 {
            let retried = try await runTool("ledger-rpc", ["log", "job_created", "job", "j-1", "--id", id, "--socket", daemon.socketPath])
            #expect(retried.status == 0 && retried.stdout.trimmingCharacters(in: .whitespacesAndNewlines) == id, "\(retried.stderr)")
        }
        #expect(try await EndToEndTests.total(socket: daemon.socketPath) == 1)
        await daemon.stop()
        try? FileManager.default.removeItem(atPath: directory)
    }

    static func listening(at path: String) throws -> Int32 {
        try RawConnection.unixListener(at: path)
    }

    /// A tail across a daemon restart, the common case for remote debugging, misses nothing.
    @Test func aTailSurvivesADaemonRestartWithNothingSkippedOrRepeated() async throws {
        let directory = try makeTemporaryDirectory()
        var daemon = try await Daemon.start(in: directory)
        let socket = daemon.socketPath
        async let tailed = runTool("ledger-rpc", ["tail", "--json", "--max-events", "4", "--socket", socket])
        try await Self.waitForTail(socket)
        for index in 0..<2 {
            _ = try await runTool("ledger-rpc", ["log", "clip_created", "clip", "c-\(index)", "--socket", socket])
        }
        await daemon.stop()
        daemon = try await Daemon.start(in: directory)
        // Committed before the tail is back: it must still see it.
        _ = try await runTool("ledger-rpc", ["log", "clip_created", "clip", "c-2", "--socket", socket])
        try await Self.waitForTail(socket)
        _ = try await runTool("ledger-rpc", ["log", "clip_created", "clip", "c-3", "--socket", socket])
        let result = try await tailed
        #expect(result.status == 0, "\(result.stderr)")
        let entities = result.stdout.split(separator: "\n").compactMap { try? Self.json(String($0))["entity_id"] as? String }
        #expect(entities == ["c-0", "c-1", "c-2", "c-3"], "\(result.stdout)")
        #expect(result.stderr.contains("reconnecting") && result.stderr.contains("reconnected"), "\(result.stderr)")

        async let once = runTool("ledger-rpc", ["tail", "--no-reconnect", "--socket", socket])
        try await Self.waitForTail(socket)
        await daemon.stop()
        let ended = try await once
        #expect(ended.status == 1 && ended.stderr.contains("not reconnecting"), "\(ended.stderr)")
        try? FileManager.default.removeItem(atPath: directory)
    }

    static func waitForTail(_ socket: String) async throws {
        for _ in 0..<400 {
            let stats = try await runTool("ledger-rpc", ["stats", "--json", "--socket", socket])
            if stats.stdout.contains("\"tail_subscribers\":1") { return }
            try await Task.sleep(for: .milliseconds(25))
        }
        Issue.record("the tail never subscribed")
    }

    @Test func sighupDoesNotStopTheDaemon() async throws {
        let directory = try makeTemporaryDirectory()
        let daemon = try await Daemon.start(in: directory)
        daemon.signal(SIGHUP)
        try await Task.sleep(for: .milliseconds(300))
        let ping = try await runTool("ledger-rpc", ["ping", "--socket", daemon.socketPath])
        #expect(ping.status == 0, "\(ping.stderr)")
        // ping(8)'s form: "in 1.2 ms".
        #expect(ping.stdout.range(of: #"in [0-9]+(\.[0-9])? ms$"#, options: .regularExpression) != nil, "\(ping.stdout)")
        await daemon.stop()
        try? FileManager.default.removeItem(atPath: directory)
    }

    /// Usage errors: one line, what was wrong and what is valid, the failing command's help, exit 2.
    @Test(arguments: [
        (["querry", "recent"], "did you mean 'query'?", "'ledger-rpc --help'"),
        (["query", "job", "not-a-uuid"], "is not a UUID", "'ledger-rpc query job --help'"),
        (["query", "recent", "--limit", "-5"], "--limit -5 is out of range: give 1 to 1000", "'ledger-rpc query recent --help'"),
        (["query", "recent", "--since", "last tuesday"], "2026-11-01", "'ledger-rpc query recent --help'"),
        (["tail", "--after", "zz"], "is not a tail cursor", "'ledger-rpc tail --help'"),
        (["log", "a", "b"], "Missing expected argument", "'ledger-rpc log --help'"),
        (["ping", "--timeout", "0"], "give 1 to 3600 seconds", "'ledger-rpc ping --help'"),
    ])
    func ledgerRPCUsageErrorsAreOneLine(arguments: [String], says: String, hint: String) async throws {
        let result = try await runTool("ledger-rpc", arguments + ["--socket", "/nonexistent/ledgerd.sock"])
        #expect(result.status == 2, "\(arguments): \(result.stderr)")
        let lines = result.stderr.split(separator: "\n")
        #expect(lines.count == 1 && lines[0].contains(says) && lines[0].contains(hint), "\(arguments): \(result.stderr)")
    }

    @Test(arguments: [
        (["--socket-mode", "999"], "octal permission bits"),
        (["--commit-batch", "0"], "from 1 to 100000"),
        (["--log-level", "verbose"], "trace, debug, info"),
        (["--allow-uid", "root"], "numeric uids"),
        (["--tls-listen", "7443"], "HOST:PORT"),
        (["--no-such-flag"], "no-such-flag"),
    ])
    func ledgerdUsageErrorsSayWhatIsValid(arguments: [String], says: String) async throws {
        let directory = try makeTemporaryDirectory()
        let result = try await runTool("ledgerd", ["--socket", "\(directory)/s.sock", "--store", "memory"] + arguments)
        #expect(result.status == 2, "\(arguments): \(result.stderr)")
        let lines = result.stderr.split(separator: "\n")
        #expect(lines.count == 1 && lines[0].contains(says) && lines[0].contains("ledgerd --help"), "\(arguments): \(result.stderr)")
        #expect(!FileManager.default.fileExists(atPath: "\(directory)/s.sock"))
        try? FileManager.default.removeItem(atPath: directory)
    }

    /// Options before the subcommand, the seed's `total`, typed stats, cursors that say where they belong.
    @Test(arguments: StoreKind.durable)
    func listingsAnswerAsTheSeedsEndpointDid(kind: StoreKind) async throws {
        let directory = try makeTemporaryDirectory()
        let database = try await TestStore.make(kind)
        let daemon = try await Daemon.start(in: directory, store: database.location)
        let socket = daemon.socketPath
        for index in 0..<3 {
            _ = try await runTool(
                "ledger-rpc", ["log", "job_created", "job", "j-\(index)", "--metadata", #"{"z": 1, "a": {"y": 2.50, "b": "\u00e9"}, "n": 1e2}"#, "--socket", socket])
        }
        let first = try await runTool("ledger-rpc", ["--socket", socket, "query", "--json", "recent", "--limit", "2"])
        #expect(first.status == 0, "\(first.stderr)")
        let page = try Self.json(first.stdout)
        #expect(page["total"] as? Int == 3 && page["limit"] as? Int == 2 && (page["events"] as? [Any])?.count == 2, "\(first.stdout)")
        let cursor = try #require(page["next_cursor"] as? String)
        // The same text from either store: compact, keys in order, numbers as PostgreSQL prints them.
        #expect(first.stdout.contains(#""metadata":{"a":{"b":"é","y":2.50},"n":100,"z":1}"#), "\(first.stdout)")

        let last = try await runTool("ledger-rpc", ["query", "recent", "--limit", "1", "--after", cursor, "--socket", socket])
        #expect(last.status == 0 && !last.stderr.contains("more:"), "a last page of exactly --limit events is not 'more': \(last.stderr)")
        let table = try await runTool("ledger-rpc", ["query", "recent", "--limit", "2", "--socket", socket])
        #expect(table.stderr.hasPrefix("more: --after ") && !table.stdout.contains("more:"), "\(table.stderr)")
        let wide = try await runTool("ledger-rpc", ["query", "recent", "--wide", "--socket", socket])
        #expect(wide.stdout.contains(#"{"a":{"b":"é","y":2.50},"n":100,"z":1}"#), "\(wide.stdout)")

        let tail = try await runTool("ledger-rpc", ["tail", "--after", "020000000000000000", "--max-events", "3", "--socket", socket])
        #expect(tail.stdout.hasPrefix("TIMESTAMP "), "tail prints query's header: \(tail.stdout)")
        let tailJSON = try await runTool("ledger-rpc", ["tail", "--json", "--after", "020000000000000000", "--max-events", "1", "--socket", socket])
        let tailCursor = try #require(try Self.json(tailJSON.stdout)["tail_cursor"] as? String)
        let misplaced = try await runTool("ledger-rpc", ["query", "recent", "--after", tailCursor, "--socket", socket])
        #expect(misplaced.status == 2 && misplaced.stderr.contains("is a tail cursor"), "\(misplaced.stderr)")

        let stats = try Self.json(try await runTool("ledger-rpc", ["stats", "--json", "--socket", socket]).stdout)
        #expect(stats["pid"] as? Int == Int(daemon.processIdentifier) && stats["store_available"] as? Bool == true, "\(stats)")
        let errors = try await runTool("ledger-rpc", ["query", "errors", "--count", "--since", "2020-01-01", "--socket", socket])
        #expect(errors.stdout.trimmingCharacters(in: .whitespacesAndNewlines) == "0", "\(errors.stderr)")
        let gaps = try Self.json(try await runTool("ledger-rpc", ["query", "gaps", "--json", "--socket", socket]).stdout)
        #expect(gaps["total"] as? Int == 0 && gaps["events_dropped"] as? Int == 0 && gaps["events"] == nil, "\(gaps)")
        await daemon.stop()
        withExtendedLifetime(database) {}
        try? FileManager.default.removeItem(atPath: directory)
    }

    @Test func versionsAndHelpTellTheTruth() async throws {
        for tool in ["ledgerd", "ledger-rpc", "ledger-demo", "ledger-bench"] {
            let version = try await runTool(tool, ["--version"])
            #expect(version.status == 0 && version.stdout.trimmingCharacters(in: .whitespacesAndNewlines) == LedgerDefaults.version, "\(tool)")
        }
        let help = try await runTool("ledgerd", ["--help"], environment: ["XDG_DATA_HOME": "/srv/data", "LEDGER_SOCKET": ""])
        #expect(help.stdout.contains("/srv/data/socialsync-ledger/ledger.sqlite") && !help.stdout.contains("<data dir>"), "\(help.stdout)")
        let demo = try await runTool("ledger-demo", ["--help"])
        let flat = demo.stdout.replacingOccurrences(of: "\n", with: " ").split(separator: " ").joined(separator: " ")
        #expect(flat.contains("job_processing_completed followed by clip_created"), "\(demo.stdout)")
        let certificates = try await Subprocess.run(["bash", TestCertificates.repository.appendingPathComponent("scripts/gen-certs.sh").path])
        #expect(certificates.status != 0 && certificates.stderr.hasPrefix("usage: scripts/gen-certs.sh DIR"), "\(certificates.stderr)")
        let bench = try await runTool("ledger-bench", ["--help"])
        #if DEBUG
        #expect(bench.stderr.contains("debug build"), "\(bench.stderr)")
        #endif
        let completion = try await runTool("ledger-rpc", ["--generate-completion-script", "bash"])
        #expect(completion.status == 0 && completion.stdout.contains("_ledger-rpc"))
    }
}
