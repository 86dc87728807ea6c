import Foundation
import LedgerClient
import LedgerProtocol
import LedgerTestSupport
import Testing

/// The Merkle tree on PostgreSQL, against the real binaries: each ledgerd on one database keeps a log
/// of its own, and each way of changing history with psql, as anyone with the table's password could,
/// is caught by `ledger-rpc verify --store postgres://…` at its first bad leaf.
///
/// One at a time, and most on copies of one database made once (`CREATE DATABASE … TEMPLATE`).
@Suite(.serialized, .enabled(if: TestPostgres.uri != nil || TestPostgres.isRequired))
struct TamperEvidencePostgresTests {
    /// A database of `count` events committed by one daemon, which then stopped, with a head covering them all.
    struct Ledger {
        let directory: String
        let uri: String
        let key: String
        var publicKey: String { self.key + ".pub" }
        let ids: [UUID]
    }

    static func event(_ index: Int) -> LedgerEvent {
        TamperEvidenceTests.event(index)
    }

    static func makeKey(in directory: String, _ name: String = "ledger.key") async throws -> String {
        let key = "\(directory)/\(name)"
        let made = try await runTool("ledger-rpc", ["keygen", key])
        #expect(made.status == 0, "\(made.stderr)")
        return key
    }

    static func start(_ uri: String, key: String, in directory: String, _ extra: [String] = []) async throws -> Daemon {
        try await Daemon.start(in: directory, store: uri, extraArguments: ["--signing-key", key] + extra)
    }

    static func log(_ events: [LedgerEvent], to daemon: Daemon, perRequest: Int = 100) async throws {
        let client = LedgerClient(configuration: LedgerClientConfiguration(socketPath: daemon.socketPath))
        for start in stride(from: 0, to: events.count, by: perRequest) {
            try await client.logAcknowledged(Array(events[start..<min(events.count, start + perRequest)]))
        }
        await client.shutdown()
    }

    static func makeLedger(count: Int = 300) async throws -> Ledger {
        let directory = try makeTemporaryDirectory("pgtree")
        let uri = try await TestPostgres.createDatabase()
        let key = try await Self.makeKey(in: directory)
        let daemon = try await Self.start(uri, key: key, in: directory)
        let events = (0..<count).map(Self.event)
        try await Self.log(events, to: daemon)
        #expect(try await TamperEvidenceTests.head(daemon.socketPath)["tree_size"] as? Int == count)
        await daemon.stop()
        return Ledger(directory: directory, uri: uri, key: key, ids: events.map(\.id))
    }

    /// The ledger of `makeLedger()` (300 events), made once; each test takes a copy.
    static let template = Task<Ledger, any Error> { try await Self.makeLedger() }

    static func database(of uri: String) -> String {
        String(URLComponents(string: uri)?.path.dropFirst() ?? "")
    }

    /// A copy of a stopped ledger's database, under the same key, in a directory of its own: the
    /// key's files are copied, not the tree its daemon last signed, which another copy's daemon would
    /// otherwise be held to.
    static func copy(of ledger: Ledger) async throws -> Ledger {
        let server = try #require(TestPostgres.uri)
        let name = "ledger_copy_\(UUID().uuidString.prefix(12).lowercased().replacingOccurrences(of: "-", with: ""))"
        try await TestPostgres.psql(server, "CREATE DATABASE \(name) TEMPLATE \(Self.database(of: ledger.uri))")
        let directory = try makeTemporaryDirectory("pgtree")
        let key = "\(directory)/ledger.key"
        try FileManager.default.copyItem(atPath: ledger.key, toPath: key)
        try FileManager.default.copyItem(atPath: ledger.publicKey, toPath: key + ".pub")
        return Ledger(directory: directory, uri: try TestPostgres.uri(server, database: name), key: key, ids: ledger.ids)
    }

    static func copyOfLedger() async throws -> Ledger {
        try await Self.copy(of: try await Self.template.value)
    }

    static func verify(_ uri: String, keys: [String], heads: [String] = []) async throws -> (status: Int32, report: [String: Any], text: String) {
        let arguments = ["verify", "--store", uri, "--json"] + keys.flatMap { ["--public-key", $0] } + heads.flatMap { ["--head", $0] }
        let result = try await runTool("ledger-rpc", arguments)
        let report = try #require(try JSONSerialization.jsonObject(with: Data(result.stdout.utf8)) as? [String: Any], "\(result.stdout)\(result.stderr)")
        return (result.status, report, result.stdout)
    }

    static func problems(_ report: [String: Any]) -> [String] {
        ((report["logs"] as? [[String: Any]]) ?? []).flatMap { $0["problems"] as? [String] ?? [] } + (report["problems"] as? [String] ?? [])
    }

    /// Two daemons on one database, each loaded hard enough that their writers split batches between
    /// two connections: two logs, each of its own daemon's commits, and all events accounted for.
    @Test func severalDaemonsOnOneDatabaseKeepALogEachAndBothVerify() async throws {
        let uri = try await TestPostgres.createDatabase()
        let directories = [try makeTemporaryDirectory("pgtree-a"), try makeTemporaryDirectory("pgtree-b")]
        defer { for directory in directories { try? FileManager.default.removeItem(atPath: directory) } }
        var keys: [String] = []
        var daemons: [Daemon] = []
        for directory in directories {
            let key = try await Self.makeKey(in: directory)
            keys.append(key)
            daemons.append(try await Self.start(uri, key: key, in: directory))
        }
        // Four clients per daemon, 600 events each in requests of 200: the writer takes several
        // requests at once, past the 512 events that split a batch.
        let batches = (0..<2).map { index in (0..<4).map { client in (0..<600).map { Self.event(10_000 * index + 1_000 * client + $0) } } }
        try await withThrowingTaskGroup(of: Void.self) { group in
            for (index, daemon) in daemons.enumerated() {
                for events in batches[index] {
                    group.addTask { try await Self.log(events, to: daemon, perRequest: 200) }
                }
            }
            try await group.waitForAll()
        }
        let id = batches[1][2][123].id
        let proof = try await runTool("ledger-rpc", ["prove", id.lowercaseText, "--socket", daemons[1].socketPath])
        #expect(proof.status == 0, "\(proof.stderr)")
        let proofFile = "\(directories[1])/proof.json"
        try proof.stdout.write(toFile: proofFile, atomically: true, encoding: .utf8)
        let checked = try await runTool("ledger-rpc", ["verify-proof", proofFile, "--public-key", keys[1] + ".pub"])
        #expect(checked.status == 0, "\(checked.stdout)\(checked.stderr)")
        let elsewhere = try await runTool("ledger-rpc", ["prove", id.lowercaseText, "--socket", daemons[0].socketPath])
        #expect(elsewhere.status != 0 && elsewhere.stderr.contains("another daemon committed it"), "\(elsewhere.stderr)")
        for daemon in daemons { _ = try await TamperEvidenceTests.head(daemon.socketPath) }
        // Through either daemon, both logs are relayed and both verify.
        let relayed = try await runTool(
            "ledger-rpc", ["verify", "--socket", daemons[0].socketPath, "--public-key", keys[0] + ".pub", "--public-key", keys[1] + ".pub"])
        #expect(relayed.status == 0 && relayed.stdout.contains("verified: 4800 events"), "\(relayed.stdout)\(relayed.stderr)")
        for daemon in daemons { await daemon.stop() }

        let both = try await Self.verify(uri, keys: keys.map { $0 + ".pub" })
        #expect(both.status == 0, "\(both.text)")
        #expect(both.report["events_checked"] as? Int == 4_800, "\(both.text)")
        #expect((both.report["logs"] as? [[String: Any]])?.map { $0["leaves"] as? Int ?? 0 } == [2_400, 2_400], "\(both.text)")
        // One log named: the other fails verification unless only the named log is to be judged;
        // then the other's events are still matched to their own leaves.
        let one = try await Self.verify(uri, keys: [keys[0] + ".pub"])
        #expect(one.status == 1 && Self.problems(one.report).contains { $0.contains("its key was not given") }, "\(one.text)")
        let judged = try await runTool("ledger-rpc", ["verify", "--store", uri, "--public-key", keys[0] + ".pub", "--ignore-other-logs", "--json"])
        let judgedReport = try #require(try JSONSerialization.jsonObject(with: Data(judged.stdout.utf8)) as? [String: Any])
        #expect(judged.status == 0, "\(judged.stdout)")
        #expect((judgedReport["bad_leaves"] as? [String: Int])?.values.reduce(0, +) ?? 0 == 0, "\(judged.stdout)")
    }

    static let tamperings = [
        TamperEvidenceTests.Tampering(
            name: "one row's metadata changed", sql: "UPDATE ledger_events SET event_data = '{\"n\": 1}' WHERE seq = 42", kind: "modified", event: 41),
        TamperEvidenceTests.Tampering(
            name: "one row's severity changed", sql: "UPDATE ledger_events SET severity = 'ERROR' WHERE seq = 7", kind: "modified", event: 6),
        TamperEvidenceTests.Tampering(name: "one row deleted", sql: "DELETE FROM ledger_events WHERE seq = 120", kind: "removed", event: 119),
        TamperEvidenceTests.Tampering(
            name: "one row inserted",
            sql: """
                INSERT INTO ledger_events (id, timestamp, event_type, entity_type, entity_id, event_data, severity, seq)
                VALUES ('01a00000-0000-7000-8000-000000000001', to_timestamp(1790000000.00005), 'job_created', 'video_asset', 'v-x', '{}', 'INFO', 1000)
                """, kind: "inserted", event: -1),
        TamperEvidenceTests.Tampering(
            name: "one row inserted before the first leaf",
            sql: """
                INSERT INTO ledger_events (id, timestamp, event_type, entity_type, entity_id, event_data, severity, seq)
                VALUES ('01a00000-0000-7000-8000-000000000001', to_timestamp(1790000000.00005), 'job_created', 'video_asset', 'v-x', '{}', 'INFO', -5)
                """, kind: "inserted", event: -1),
        TamperEvidenceTests.Tampering(
            name: "one row inserted at the least sequence there is",
            sql: """
                INSERT INTO ledger_events (id, timestamp, event_type, entity_type, entity_id, event_data, severity, seq)
                VALUES ('01a00000-0000-7000-8000-000000000001', to_timestamp(1790000000.00005), 'job_created', 'video_asset', 'v-x', '{}', 'INFO', -9223372036854775808)
                """, kind: "inserted", event: -1),
        TamperEvidenceTests.Tampering(
            name: "two rows' commit order swapped",
            sql: "UPDATE ledger_events SET seq = -seq WHERE seq IN (10, 20); UPDATE ledger_events SET seq = CASE seq WHEN -10 THEN 20 ELSE 10 END WHERE seq < 0",
            kind: "reordered", event: 9),
        TamperEvidenceTests.Tampering(name: "the last 100 events deleted", sql: "DELETE FROM ledger_events WHERE seq > 200", kind: "removed", event: 200),
    ]

    /// A retention record written with psql before the first leaf, and a removal excused by it:
    /// the record is inserted, and its tombstones excuse nothing.
    @Test func aTombstoneNamingARecordWrittenIntoTheDatabaseExcusesNothing() async throws {
        let ledger = try await Self.copyOfLedger()
        let pass = TamperEvidenceTests.forgedRecord
        try await TestPostgres.psql(
            ledger.uri,
            """
            INSERT INTO ledger_events (id, timestamp, event_type, entity_type, entity_id, event_data, severity, seq)
            VALUES ('\(pass)', to_timestamp(1790000000.00005), 'ledger_retention', 'ledger_retention_rule', 'video_uploaded=7d', '{"events": 1}', 'WARN', 0);
            DELETE FROM ledger_events WHERE seq = 42;
            INSERT INTO ledger_tree_tombstones (seq, retention) VALUES (42, '\(pass)')
            """)
        let (status, report, text) = try await Self.verify(ledger.uri, keys: [ledger.publicKey])
        #expect(status == 1, "\(text)")
        let bad = report["first_bad_leaf"] as? [String: Any]
        #expect(bad?["kind"] as? String == "inserted" && bad?["event_id"] as? String == pass, "\(text)")
        #expect((report["problems"] as? [String])?.contains { $0.contains(pass) && $0.contains("in no log's records") } == true, "\(text)")
    }

    /// Events stored before the database's first log (loaded straight into the table, or committed by
    /// a daemon without a tree) become one log's first leaves, even with two daemons beginning their
    /// logs at once: exactly one adopts them, and both logs verify.
    @Test func eventsStoredBeforeTheFirstLogBecomeOneLogsFirstLeaves() async throws {
        let uri = try await TestPostgres.createDatabase()
        let directories = [try makeTemporaryDirectory("pgtree-a"), try makeTemporaryDirectory("pgtree-b")]
        defer { for directory in directories { try? FileManager.default.removeItem(atPath: directory) } }
        let earlier = (0..<5_000).map(Self.event)
        let untreed = try await Daemon.start(in: directories[0], store: uri, extraArguments: ["--signing-key", "off"])
        try await Self.log(earlier, to: untreed, perRequest: 500)
        await untreed.stop()

        var keys: [String] = []
        for directory in directories { keys.append(try await Self.makeKey(in: directory)) }
        async let first = Self.start(uri, key: keys[0], in: directories[0])
        async let second = Self.start(uri, key: keys[1], in: directories[1])
        let daemons = try await [first, second]
        let adopters = daemons.filter { $0.stderr.contains("took the events stored before it began") }
        #expect(adopters.count == 1 && adopters.first?.stderr.contains("events=5000") == true, "\(daemons.map(\.stderr))")
        let later = (0..<2).map { index in (0..<300).map { Self.event(100_000 * (index + 1) + $0) } }
        for (daemon, events) in zip(daemons, later) { try await Self.log(events, to: daemon) }
        for daemon in daemons { _ = try await TamperEvidenceTests.head(daemon.socketPath) }
        for daemon in daemons { await daemon.stop() }

        let (status, report, text) = try await Self.verify(uri, keys: keys.map { $0 + ".pub" })
        #expect(status == 0, "\(text)")
        #expect(report["events_checked"] as? Int == 5_600, "\(text)")
        #expect((report["logs"] as? [[String: Any]])?.map { $0["leaves"] as? Int ?? 0 }.sorted() == [300, 5_300], "\(text)")

        try await TestPostgres.psql(uri, "UPDATE ledger_events SET severity = 'ERROR' WHERE id = '\(earlier[7].id.lowercaseText)'")
        let changed = try await Self.verify(uri, keys: keys.map { $0 + ".pub" })
        #expect(changed.status == 1, "\(changed.text)")
        let bad = changed.report["first_bad_leaf"] as? [String: Any]
        #expect(bad?["kind"] as? String == "modified" && bad?["event_id"] as? String == earlier[7].id.lowercaseText && bad?["leaf"] as? Int == 7, "\(changed.text)")
    }

    /// As on SQLite: proofs take subtrees from the stored frontiers, and come out right from the
    /// leaves when those were changed by hand, with a word from the daemon.
    @Test func aProofStaysRightWhenTheStoredFrontiersWereChanged() async throws {
        let ledger = try await Self.copyOfLedger()
        defer { try? FileManager.default.removeItem(atPath: ledger.directory) }
        let daemon = try await Self.start(ledger.uri, key: ledger.key, in: ledger.directory)
        defer { Task { await daemon.stop() } }
        let ids = [0, 150, 299].map { ledger.ids[$0] }
        try await TamperEvidenceTests.expectProofs(of: ids, socket: daemon.socketPath, publicKey: ledger.publicKey, in: ledger.directory)
        #expect(!daemon.stderr.contains(TamperEvidenceTests.frontiersDisagree), "\(daemon.stderr)")

        _ = try await TestPostgres.psql(
            ledger.uri,
            """
            UPDATE ledger_tree_leaves SET frontier = substring(frontier FROM 1 FOR 8) || decode(repeat('00', length(frontier) - 8), 'hex')
             WHERE first_leaf < (SELECT max(first_leaf) FROM ledger_tree_leaves)
            """)
        try await TamperEvidenceTests.expectProofs(of: ids, socket: daemon.socketPath, publicKey: ledger.publicKey, in: ledger.directory)
        #expect(await eventually { daemon.stderr.contains(TamperEvidenceTests.frontiersDisagree) }, "\(daemon.stderr)")
    }

    /// The locks daemons take in turn as they start on one database, and what a daemon that waits says.
    static let startLocks: [(key: String, waiting: String)] = [
        ("108101100103101114", "waiting for another ledgerd on this database to finish migrating the database"),
        ("97100111112116", "waiting for another ledgerd on this database to finish adopting the events stored before any log"),
    ]

    /// A daemon that starts while another session holds one of those locks (a daemon migrating, or
    /// adopting millions of events) says which session holds it and waits, then starts once it is let go.
    @Test(arguments: Self.startLocks)
    func aDaemonWaitingForAnotherOnesLockSaysWhoHoldsIt(key lockKey: String, waiting: String) async throws {
        let uri = try await TestPostgres.createDatabase()
        let directory = try makeTemporaryDirectory("pgtree")
        defer { try? FileManager.default.removeItem(atPath: directory) }
        let key = try await Self.makeKey(in: directory)
        let holderName = "ledger-test-holder-\(UUID().uuidString.prefix(8).lowercased())"
        let holder = try ChildProcess(
            ["psql", uri, "-X", "-q", "-c", "SELECT pg_advisory_lock(\(lockKey))", "-c", "SELECT pg_sleep(600)"],
            environment: ["PGAPPNAME": holderName])
        defer { holder.signal(SIGKILL) }
        let held = "SELECT count(*) FROM pg_locks l JOIN pg_stat_activity a USING (pid) WHERE a.application_name = '\(holderName)' AND l.locktype = 'advisory' AND l.granted"
        #expect(try await waitUntil(within: 30) { try await TestPostgres.psql(uri, held) == "1" })

        let ledgerd = try ChildProcess(
            [Binaries.url("ledgerd").path, "--socket", "\(directory)/ledgerd.sock", "--store", uri, "--signing-key", key])
        defer { ledgerd.signal(SIGKILL) }
        #expect(await eventually(within: 60) { ledgerd.stderr.contains(waiting) }, "\(ledgerd.stderr)")
        #expect(ledgerd.stderr.contains("holder_application=\(holderName)"), "\(ledgerd.stderr)")
        let ready = { ledgerd.stderr.split(separator: "\n").contains { $0.hasPrefix("ready") } }
        #expect(ledgerd.isRunning && !ready())

        _ = try await TestPostgres.psql(uri, "SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE application_name = '\(holderName)'")
        #expect(await eventually(within: 60) { ready() }, "\(ledgerd.stderr)")
        #expect(ledgerd.stderr.contains("took the lock after"), "\(ledgerd.stderr)")
        ledgerd.signal(SIGTERM)
        #expect(await ledgerd.waitForExit() == 0)
    }

    @Test func aDatabaseLeftAloneVerifies() async throws {
        let ledger = try await Self.copyOfLedger()
        let (status, report, text) = try await Self.verify(ledger.uri, keys: [ledger.publicKey])
        #expect(status == 0, "\(text)")
        #expect(report["events_checked"] as? Int == 300)
    }

    @Test(arguments: Self.tamperings)
    func eachChangeMadeWithPsqlIsCaughtAtItsFirstBadLeaf(_ tampering: TamperEvidenceTests.Tampering) async throws {
        let ledger = try await Self.copyOfLedger()
        try await TestPostgres.psql(ledger.uri, tampering.sql)
        let (status, report, text) = try await Self.verify(ledger.uri, keys: [ledger.publicKey])
        try TamperEvidenceTests.expectCaught(tampering, status: status, report: report, ids: ledger.ids, text)
    }

    @Test func leafRecordsChangedWithTheirEventBreakTheSignedRoot() async throws {
        let ledger = try await Self.copyOfLedger()
        try await TestPostgres.psql(ledger.uri, "UPDATE ledger_tree_leaves SET records = decode(repeat('00', length(records)), 'hex') WHERE first_leaf = 0")
        let (status, report, text) = try await Self.verify(ledger.uri, keys: [ledger.publicKey])
        #expect(status == 1, "\(text)")
        #expect(Self.problems(report).contains { $0.contains("records before leaf") }, "\(text)")
    }

    @Test func aDatabaseRebuiltAndSignedWithAnotherKeyFailsAgainstTheRealKey() async throws {
        let ledger = try await Self.template.value
        let forger = try makeTemporaryDirectory("pgforged")
        defer { try? FileManager.default.removeItem(atPath: forger) }
        let uri = try await TestPostgres.createDatabase()
        let key = try await Self.makeKey(in: forger)
        let daemon = try await Self.start(uri, key: key, in: forger)
        var events = (0..<300).map(Self.event)
        events[3].metadata = "{\"n\": 1000}"
        try await Self.log(events, to: daemon)
        _ = try await TamperEvidenceTests.head(daemon.socketPath)
        await daemon.stop()
        #expect(try await Self.verify(uri, keys: [key + ".pub"]).status == 0, "the forger's own key verifies their database")
        let (status, report, text) = try await Self.verify(uri, keys: [ledger.publicKey])
        #expect(status == 1, "\(text)")
        #expect(Self.problems(report).contains { $0.contains("holds no log of the given key") }, "\(text)")
    }

    @Test func historyReSignedWithTheSameKeyFromAnOldStateFailsOnlyAgainstASavedHead() async throws {
        let ledger = try await Self.copyOfLedger()
        let old = try await Self.copy(of: ledger)
        var daemon = try await Self.start(ledger.uri, key: ledger.key, in: ledger.directory)
        try await Self.log((300..<400).map(Self.event), to: daemon)
        let saved = try await runTool("ledger-rpc", ["head", "--json", "--socket", daemon.socketPath])
        let savedFile = "\(ledger.directory)/saved-\(UUID().uuidString).json"
        defer { try? FileManager.default.removeItem(atPath: savedFile) }
        try saved.stdout.write(toFile: savedFile, atomically: true, encoding: .utf8)
        await daemon.stop()

        // The old copy, continued with other history and signed with the same key.
        daemon = try await Self.start(old.uri, key: old.key, in: old.directory)
        try await Self.log((500..<650).map(Self.event), to: daemon)
        _ = try await TamperEvidenceTests.head(daemon.socketPath)
        await daemon.stop()

        let alone = try await Self.verify(old.uri, keys: [old.publicKey])
        #expect(alone.status == 0, "without a saved head the rewritten history is self-consistent: \(alone.text)")
        let (status, report, text) = try await Self.verify(old.uri, keys: [old.publicKey], heads: [savedFile])
        #expect(status == 1, "\(text)")
        #expect(Self.problems(report).contains { $0.contains("saved head of 400 leaves") && $0.contains("rewritten and re-signed") }, "\(text)")
        #expect(Self.problems(report).contains { $0.contains("consistency proof") }, "\(text)")
        #expect(try await Self.verify(ledger.uri, keys: [ledger.publicKey], heads: [savedFile]).status == 0, "the real history still extends it")
    }

    @Test func aDaemonKilledMidCommitLeavesATreeThatVerifiesAfterRestart() async throws {
        let directory = try makeTemporaryDirectory("pgtree")
        defer { try? FileManager.default.removeItem(atPath: directory) }
        let uri = try await TestPostgres.createDatabase()
        let key = try await Self.makeKey(in: directory)
        var daemon = try await Self.start(uri, key: key, in: directory)
        let socket = daemon.socketPath
        let load = TamperEvidenceTests.keepLogging(to: socket, perRequest: 300)
        #expect(try await waitUntil(within: 120) { Int(try await TestPostgres.psql(uri, "SELECT count(*) FROM ledger_events")) ?? 0 >= 1_500 })
        daemon.signal(SIGKILL)
        _ = await daemon.waitForExit()
        load.cancel()
        await load.value
        daemon = try await Self.start(uri, key: key, in: directory)
        let client = LedgerClient(configuration: LedgerClientConfiguration(socketPath: daemon.socketPath))
        try await client.logAcknowledged((1_000_000..<1_000_050).map(Self.event))
        await client.shutdown()
        _ = try await TamperEvidenceTests.head(daemon.socketPath)
        await daemon.stop()
        let (status, report, text) = try await Self.verify(uri, keys: [key + ".pub"])
        #expect(status == 0, "\(text)")
        #expect((report["events_checked"] as? Int ?? 0) >= 1_550)
    }

    @Test func retentionLeavesLeavesThatStillVerifyAndOnlyItsRemovalsAreExcused() async throws {
        let ledger = try await Self.copyOfLedger()
        let daemon = try await Self.start(ledger.uri, key: ledger.key, in: ledger.directory, ["--retain", "video_uploaded=7d", "--retain-interval", "1"])
        #expect(
            try await waitUntil(within: 120) {
                Int(try await TestPostgres.psql(ledger.uri, "SELECT count(*) FROM ledger_events WHERE event_type = 'video_uploaded'")) == 0
            })
        _ = try await TamperEvidenceTests.head(daemon.socketPath)
        await daemon.stop()
        let (status, report, text) = try await Self.verify(ledger.uri, keys: [ledger.publicKey])
        #expect(status == 0, "\(text)")
        #expect((report["logs"] as? [[String: Any]])?.first?["removed_by_retention"] as? Int == 200, "\(text)")
        let passes = try #require(report["retention_passes"] as? [[String: Any]])
        let record = try await TestPostgres.psql(ledger.uri, "SELECT id FROM ledger_events WHERE event_type = 'ledger_retention'")
        #expect(passes.count == 1 && passes.first?["retention"] as? String == record, "\(text)")

        try await TestPostgres.psql(ledger.uri, "DELETE FROM ledger_events WHERE seq = 4")
        let removed = try await Self.verify(ledger.uri, keys: [ledger.publicKey])
        #expect(removed.status == 1, "\(removed.text)")
        #expect((removed.report["first_bad_leaf"] as? [String: Any])?["kind"] as? String == "removed", "\(removed.text)")
        #expect((removed.report["first_bad_leaf"] as? [String: Any])?["event_id"] as? String == ledger.ids[3].lowercaseText, "\(removed.text)")
    }
}
