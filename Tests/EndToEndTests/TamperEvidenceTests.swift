import Foundation
import LedgerClient
import LedgerProtocol
import LedgerTestSupport
import Testing

/// The Merkle tree against the real binaries: a ledger that is left alone verifies, and each way of
/// changing its history behind the daemon's back (with the sqlite3 shell, as anyone who can write the
/// file could) is caught by `ledger-rpc verify`, which names the first bad leaf and what happened to it.
///
/// One at a time, and most on copies of one ledger made once: the suite starts daemons and tools by
/// the dozen, and the rest of the suite's timing-sensitive tests share the machine with it.
@Suite(.serialized) struct TamperEvidenceTests {
    /// A ledger of `count` events, committed by a daemon that then stopped, with a head covering them all.
    struct Ledger {
        let directory: String
        let store: String
        let publicKey: String
        let ids: [UUID]
    }

    static func event(_ index: Int) -> LedgerEvent {
        LedgerEvent(
            id: UUID.ledgerV7(unixMilliseconds: 1_790_000_000_000 + UInt64(index)), timestamp: LedgerTimestamp(rawValue: 1_790_000_000_000_000 + Int64(index)),
            eventType: index % 3 == 0 ? "job_created" : "video_uploaded", entityType: "video_asset", entityID: "v-\(index)",
            metadata: "{\"n\": \(index), \"title\": \"caf\\u00e9 \(index)\"}", workerID: index % 2 == 0 ? "w-1" : nil)
    }

    static func makeLedger(count: Int = 300) async throws -> Ledger {
        let directory = try makeTemporaryDirectory("tree")
        let daemon = try await Daemon.start(in: directory)
        let client = LedgerClient(configuration: LedgerClientConfiguration(socketPath: daemon.socketPath))
        let events = (0..<count).map(Self.event)
        for start in stride(from: 0, to: count, by: 100) {
            try await client.logAcknowledged(Array(events[start..<min(count, start + 100)]))
        }
        await client.shutdown()
        let head = try await Self.head(daemon.socketPath)
        #expect(head["tree_size"] as? Int == count)
        await daemon.stop()
        return Ledger(directory: directory, store: "\(directory)/ledger.sqlite", publicKey: "\(directory)/ledger-signing.key.pub", ids: events.map(\.id))
    }

    /// The ledger of `makeLedger()` (300 events), made once; each test takes a copy.
    static let template = Task<Ledger, any Error> { try await Self.makeLedger() }

    /// A copy of the template ledger in a directory of its own, its key included.
    static func copyOfLedger() async throws -> Ledger {
        let template = try await Self.template.value
        let directory = try makeTemporaryDirectory("tree")
        for name in ["ledger.sqlite", "ledger.sqlite-wal", "ledger.sqlite-shm", "ledger-signing.key", "ledger-signing.key.pub"]
        where FileManager.default.fileExists(atPath: "\(template.directory)/\(name)") {
            try FileManager.default.copyItem(atPath: "\(template.directory)/\(name)", toPath: "\(directory)/\(name)")
        }
        return Ledger(directory: directory, store: "\(directory)/ledger.sqlite", publicKey: "\(directory)/ledger-signing.key.pub", ids: template.ids)
    }

    static func head(_ socket: String) async throws -> [String: Any] {
        let result = try await runTool("ledger-rpc", ["head", "--json", "--socket", socket])
        return try #require(try JSONSerialization.jsonObject(with: Data(result.stdout.utf8)) as? [String: Any], "\(result.stderr)")
    }

    /// Logs acknowledged requests of `perRequest` events to the daemon at `socket` until cancelled.
    static func keepLogging(to socket: String, perRequest: Int) -> Task<Void, Never> {
        Task {
            let client = LedgerClient(configuration: LedgerClientConfiguration(socketPath: socket))
            var index = 0
            while !Task.isCancelled {
                try? await client.logAcknowledged((index..<index + perRequest).map(Self.event))
                index += perRequest
            }
            await client.shutdown()
        }
    }

    static func verify(_ ledger: Ledger, key: String? = nil, heads: [String] = []) async throws -> (status: Int32, report: [String: Any], text: String) {
        let arguments = ["verify", "--store", ledger.store, "--public-key", key ?? ledger.publicKey, "--json"] + heads.flatMap { ["--head", $0] }
        let result = try await runTool("ledger-rpc", arguments)
        let report = try #require(try JSONSerialization.jsonObject(with: Data(result.stdout.utf8)) as? [String: Any], "\(result.stdout)\(result.stderr)")
        return (result.status, report, result.stdout)
    }

    @Test func aLedgerLeftAloneVerifiesAndProvesItsEvents() async throws {
        let ledger = try await Self.copyOfLedger()
        defer { try? FileManager.default.removeItem(atPath: ledger.directory) }
        let (status, report, text) = try await Self.verify(ledger)
        #expect(status == 0, "\(text)")
        #expect(report["verified"] as? Bool == true)
        #expect(report["events_checked"] as? Int == 300)

        let daemon = try await Daemon.start(in: ledger.directory)
        defer { Task { await daemon.stop() } }
        let id = try #require(ledger.ids.randomElement())
        let proof = try await runTool("ledger-rpc", ["prove", id.lowercaseText, "--socket", daemon.socketPath])
        #expect(proof.status == 0, "\(proof.stderr)")
        let proofFile = "\(ledger.directory)/proof.json"
        try proof.stdout.write(toFile: proofFile, atomically: true, encoding: .utf8)
        let checked = try await runTool("ledger-rpc", ["verify-proof", proofFile, "--public-key", ledger.publicKey])
        #expect(checked.status == 0, "\(checked.stderr)")
        #expect(checked.stdout.contains("proof verified: event \(id.lowercaseText)"))

        // One hash of the path changed, the leaf hash changed, or another log's key: each fails.
        var object = try #require(try JSONSerialization.jsonObject(with: Data(proof.stdout.utf8)) as? [String: Any])
        var path = try #require(object["inclusion_path"] as? [String])
        path[0] = String(path[0].reversed())
        object["inclusion_path"] = path
        try JSONSerialization.data(withJSONObject: object).write(to: URL(fileURLWithPath: proofFile))
        let tampered = try await runTool("ledger-rpc", ["verify-proof", proofFile, "--public-key", ledger.publicKey])
        #expect(tampered.status == 1)
        #expect(tampered.stderr.contains("does not lead from leaf"), "\(tampered.stderr)")
        let otherKey = "\(ledger.directory)/other.key"
        _ = try await runTool("ledger-rpc", ["keygen", otherKey])
        try proof.stdout.write(toFile: proofFile, atomically: true, encoding: .utf8)
        let wrongKey = try await runTool("ledger-rpc", ["verify-proof", proofFile, "--public-key", otherKey + ".pub"])
        #expect(wrongKey.status == 1)
        #expect(wrongKey.stderr.contains("not signed by the given key"), "\(wrongKey.stderr)")
    }

    /// `ledger-rpc prove` for each event, through the daemon at `socket`, checked offline by `verify-proof`.
    static func expectProofs(of ids: [UUID], socket: String, publicKey: String, in directory: String) async throws {
        for id in ids {
            let proof = try await runTool("ledger-rpc", ["prove", id.lowercaseText, "--socket", socket])
            #expect(proof.status == 0, "\(id): \(proof.stderr)")
            let file = "\(directory)/proof-\(id.lowercaseText).json"
            try proof.stdout.write(toFile: file, atomically: true, encoding: .utf8)
            let checked = try await runTool("ledger-rpc", ["verify-proof", file, "--public-key", publicKey])
            #expect(checked.status == 0, "\(id): \(checked.stderr)")
        }
    }

    static let frontiersDisagree = "do not agree with its leaf records"

    /// A proof takes the subtrees it needs from the frontiers stored with the commits (the middle
    /// event's path holds the first 128 leaves, which the commit ending at leaf 200 stored). Frontiers
    /// changed by hand cannot make a proof wrong: it is made from the leaves, and the daemon says why.
    @Test func aProofStaysRightWhenTheStoredFrontiersWereChanged() async throws {
        let ledger = try await Self.copyOfLedger()
        defer { try? FileManager.default.removeItem(atPath: ledger.directory) }
        let daemon = try await Daemon.start(in: ledger.directory)
        defer { Task { await daemon.stop() } }
        let ids = [0, 150, 299].map { ledger.ids[$0] }
        try await Self.expectProofs(of: ids, socket: daemon.socketPath, publicKey: ledger.publicKey, in: ledger.directory)
        #expect(!daemon.stderr.contains(Self.frontiersDisagree), "\(daemon.stderr)")

        // Every frontier but the newest, which the daemon continues from, keeps its size and loses its subtrees.
        _ = try await sqlite(
            ledger.store,
            "UPDATE ledger_tree_leaves SET frontier = substr(frontier, 1, 8) || zeroblob(length(frontier) - 8) WHERE first_leaf < (SELECT max(first_leaf) FROM ledger_tree_leaves)")
        try await Self.expectProofs(of: ids, socket: daemon.socketPath, publicKey: ledger.publicKey, in: ledger.directory)
        #expect(await eventually { daemon.stderr.contains(Self.frontiersDisagree) }, "\(daemon.stderr)")
    }

    /// Without --store the daemon relays the logs and events and ledger-rpc checks them: the same
    /// report, the same first bad leaf, and the metadata's stored text still counts.
    @Test func verifyThroughTheDaemonChecksWhatItRelays() async throws {
        let ledger = try await Self.copyOfLedger()
        defer { try? FileManager.default.removeItem(atPath: ledger.directory) }
        let daemon = try await Daemon.start(in: ledger.directory)
        defer { Task { await daemon.stop() } }
        let arguments = ["verify", "--socket", daemon.socketPath, "--public-key", ledger.publicKey, "--json"]
        let clean = try await runTool("ledger-rpc", arguments)
        #expect(clean.status == 0, "\(clean.stdout)\(clean.stderr)")
        let report = try #require(try JSONSerialization.jsonObject(with: Data(clean.stdout.utf8)) as? [String: Any])
        #expect(report["events_checked"] as? Int == 300)

        let reformatted = Self.tamperings[1]
        _ = try await sqlite(ledger.store, reformatted.sql)
        let caught = try await runTool("ledger-rpc", arguments)
        let tampered = try #require(try JSONSerialization.jsonObject(with: Data(caught.stdout.utf8)) as? [String: Any], "\(caught.stderr)")
        try Self.expectCaught(reformatted, status: caught.status, report: tampered, ids: ledger.ids, caught.stdout)
    }

    /// A check that could not be made exits 2, never 1: a monitoring script must be able to tell an
    /// outage or a wrong path from tampering, whichever way verify reads the ledger.
    @Test func aCheckThatCouldNotBeMadeIsNotReportedAsTampering() async throws {
        let ledger = try await Self.copyOfLedger()
        defer { try? FileManager.default.removeItem(atPath: ledger.directory) }
        let notADatabase = "\(ledger.directory)/notes.txt"
        try String(repeating: "not a ledger\n", count: 400).write(toFile: notADatabase, atomically: true, encoding: .utf8)
        let attempts: [(what: String, arguments: [String], says: String)] = [
            ("no daemon on the socket", ["--socket", "\(ledger.directory)/nobody.sock"], "nobody.sock"),
            ("a store file that is not there", ["--store", "\(ledger.directory)/missing.sqlite"], "missing.sqlite"),
            ("a store file that is not a database", ["--store", notADatabase], "notes.txt"),
            ("a PostgreSQL server that is not there", ["--store", "postgresql://ledger@/ledger?host=\(ledger.directory)/nopg&connect_timeout=2"], "nopg"),
        ]
        for attempt in attempts {
            let result = try await runTool("ledger-rpc", ["verify", "--public-key", ledger.publicKey] + attempt.arguments)
            #expect(result.status == 2, "\(attempt.what): \(result.stdout)\(result.stderr)")
            #expect(result.stderr.contains("could not verify"), "\(attempt.what): \(result.stderr)")
            #expect(result.stderr.contains(attempt.says), "\(attempt.what): \(result.stderr)")
            #expect(!result.stdout.contains("verified"), "\(attempt.what): \(result.stdout)")
        }
        // verify-proof likewise: a file that holds no proof is not a proof that failed.
        for (file, says) in [("\(ledger.directory)/missing.json", "cannot be read"), (notADatabase, "notes.txt")] {
            let result = try await runTool("ledger-rpc", ["verify-proof", file, "--public-key", ledger.publicKey])
            #expect(result.status == 2 && result.stderr.contains("could not check") && result.stderr.contains(says), "\(file): \(result.stderr)")
            #expect(!result.stderr.contains("--help"), "\(result.stderr)")
        }
        // The same ledger, readable and changed, is a finding: 1.
        _ = try await sqlite(ledger.store, Self.tamperings[0].sql)
        #expect(try await Self.verify(ledger).status == 1)
    }

    /// A daemon started with `--signing-key off` keeps no tree: each tree command says so and fails,
    /// none takes it for a usage error, and verify cannot vouch for the events, whose tree may as well
    /// have been wiped.
    @Test func aDaemonWithoutATreeSaysSoToEveryTreeCommand() async throws {
        let directory = try makeTemporaryDirectory("tree")
        defer { try? FileManager.default.removeItem(atPath: directory) }
        let daemon = try await Daemon.start(in: directory, extraArguments: ["--signing-key", "off"])
        defer { Task { await daemon.stop() } }
        let key = "\(directory)/some.key"
        _ = try await runTool("ledger-rpc", ["keygen", key])
        let socket = ["--socket", daemon.socketPath]
        let head = try await runTool("ledger-rpc", ["head"] + socket)
        #expect(head.status == 1 && head.stderr.contains("--signing-key off") && !head.stderr.contains("--help"), "\(head.stderr)")
        let prove = try await runTool("ledger-rpc", ["prove", UUID().uuidString] + socket)
        #expect(prove.status == 1 && prove.stderr.contains("keeps no tree"), "\(prove.stderr)")
        let verify = try await runTool("ledger-rpc", ["verify", "--public-key", key + ".pub"] + socket)
        #expect(verify.status == 1 && verify.stdout.contains("nor any other") && verify.stdout.contains("NOT VERIFIED"), "\(verify.stdout)")
    }

    /// One change made with the sqlite3 shell, and what verify must say of it.
    struct Tampering: Sendable, CustomTestStringConvertible {
        let name: String
        let sql: String
        let kind: String
        /// The index of the event the first bad leaf names.
        let event: Int
        var testDescription: String { self.name }
    }

    static let tamperings = [
        Tampering(name: "one row's metadata changed", sql: "UPDATE ledger_events SET event_data = '{\"n\": 1}' WHERE seq = 42", kind: "modified", event: 41),
        Tampering(
            name: "one row's metadata reformatted, the same JSON value", sql: "UPDATE ledger_events SET event_data = ' ' || event_data WHERE seq = 5",
            kind: "modified", event: 4),
        Tampering(name: "one row's severity changed", sql: "UPDATE ledger_events SET severity = 'ERROR' WHERE seq = 7", kind: "modified", event: 6),
        Tampering(name: "one row deleted", sql: "DELETE FROM ledger_events WHERE seq = 120", kind: "removed", event: 119),
        Tampering(
            name: "one row inserted",
            sql: """
                INSERT INTO ledger_events (id, timestamp, event_type, entity_type, entity_id, event_data, severity, seq)
                VALUES ('01a00000-0000-7000-8000-000000000001', 1790000000000050, 'job_created', 'video_asset', 'v-x', '{}', 'INFO', 1000)
                """, kind: "inserted", event: -1),
        Tampering(
            name: "one row inserted before the first leaf",
            sql: """
                INSERT INTO ledger_events (id, timestamp, event_type, entity_type, entity_id, event_data, severity, seq)
                VALUES ('01a00000-0000-7000-8000-000000000001', 1790000000000050, 'job_created', 'video_asset', 'v-x', '{}', 'INFO', 0)
                """, kind: "inserted", event: -1),
        Tampering(
            name: "one row inserted at the least sequence there is",
            sql: """
                INSERT INTO ledger_events (id, timestamp, event_type, entity_type, entity_id, event_data, severity, seq)
                VALUES ('01a00000-0000-7000-8000-000000000001', 1790000000000050, 'job_created', 'video_asset', 'v-x', '{}', 'INFO', -9223372036854775808)
                """, kind: "inserted", event: -1),
        Tampering(
            name: "two rows' commit order swapped",
            sql: "UPDATE ledger_events SET seq = -seq WHERE seq IN (10, 20); UPDATE ledger_events SET seq = CASE seq WHEN -10 THEN 20 ELSE 10 END WHERE seq < 0",
            kind: "reordered", event: 9),
        Tampering(name: "the last 100 events deleted", sql: "DELETE FROM ledger_events WHERE seq > 200", kind: "removed", event: 200),
    ]

    @Test(arguments: Self.tamperings)
    func eachChangeIsCaughtAtItsFirstBadLeaf(_ tampering: Tampering) async throws {
        let ledger = try await Self.copyOfLedger()
        defer { try? FileManager.default.removeItem(atPath: ledger.directory) }
        _ = try await sqlite(ledger.store, tampering.sql)
        let (status, report, text) = try await Self.verify(ledger)
        try Self.expectCaught(tampering, status: status, report: report, ids: ledger.ids, text)
    }

    /// Verify failed, and named the tampering's kind and its event (the inserted row's for an insert) as the first bad leaf.
    static func expectCaught(_ tampering: Tampering, status: Int32, report: [String: Any], ids: [UUID], _ text: String) throws {
        #expect(status == 1, "\(text)")
        #expect(report["verified"] as? Bool == false)
        let bad = try #require(report["first_bad_leaf"] as? [String: Any], "\(text)")
        #expect(bad["kind"] as? String == tampering.kind, "\(text)")
        let expected = tampering.event >= 0 ? ids[tampering.event].lowercaseText : "01a00000-0000-7000-8000-000000000001"
        #expect(bad["event_id"] as? String == expected, "\(text)")
        if tampering.event >= 0 { #expect(bad["leaf"] as? Int == tampering.event, "\(text)") }
    }

    /// A removal with a tombstone written for it by hand, and what the tombstone names as its pass.
    struct ForgedExcuse: Sendable, CustomTestStringConvertible {
        let name: String
        /// Run before the removal: what puts the named pass in the store, if anything.
        let setup: String
        /// The pass the tombstone names; nil for the template's event at index 6, an ordinary one.
        let pass: String?
        /// What verify must say of it, among its problems.
        let problem: String
        /// The event verify must name as its first bad leaf, if any: a record written into the store is inserted.
        let inserted: String?
        var testDescription: String { self.name }
    }

    static let forgedRecord = "01a00000-0000-7000-8000-0000000000aa"

    static func forgedRecordSQL(seq: Int) -> String {
        """
        INSERT INTO ledger_events (id, timestamp, event_type, entity_type, entity_id, event_data, severity, seq)
        VALUES ('\(Self.forgedRecord)', 1790000000000050, 'ledger_retention', 'ledger_retention_rule', 'video_uploaded=7d', '{"events":1}', 'WARN', \(seq))
        """
    }

    static let forgedExcuses = [
        ForgedExcuse(
            name: "naming an ordinary event", setup: "", pass: nil, problem: "which is no recorded ledger_retention event", inserted: nil),
        ForgedExcuse(
            name: "naming no stored event", setup: "", pass: "01a00000-0000-7000-8000-0000000000bb",
            problem: "which is no recorded ledger_retention event", inserted: nil),
        ForgedExcuse(
            name: "naming a retention record written before the first leaf", setup: Self.forgedRecordSQL(seq: 0), pass: Self.forgedRecord,
            problem: "in no log's records", inserted: Self.forgedRecord),
        ForgedExcuse(
            name: "naming a retention record written after the last leaf", setup: Self.forgedRecordSQL(seq: 1000), pass: Self.forgedRecord,
            problem: "in no log's records", inserted: Self.forgedRecord),
    ]

    /// The store is as writable as the rows a tombstone excuses, so only the ledger's own record of a
    /// pass excuses a removal: each excuse written into the store leaves verify failing.
    @Test(arguments: Self.forgedExcuses)
    func aTombstoneWrittenIntoTheStoreExcusesNothing(_ forged: ForgedExcuse) async throws {
        let ledger = try await Self.copyOfLedger()
        defer { try? FileManager.default.removeItem(atPath: ledger.directory) }
        if !forged.setup.isEmpty { _ = try await sqlite(ledger.store, forged.setup) }
        let pass = forged.pass ?? ledger.ids[6].lowercaseText
        _ = try await sqlite(ledger.store, "DELETE FROM ledger_events WHERE seq = 42; INSERT INTO ledger_tree_tombstones (seq, retention) VALUES (42, '\(pass)')")
        let (status, report, text) = try await Self.verify(ledger)
        #expect(status == 1, "\(text)")
        #expect(report["verified"] as? Bool == false, "\(text)")
        #expect((report["problems"] as? [String])?.contains { $0.contains(pass) && $0.contains(forged.problem) } == true, "\(text)")
        #expect((report["retention_passes"] as? [Any])?.isEmpty == true, "\(text)")
        let bad = report["first_bad_leaf"] as? [String: Any]
        if let inserted = forged.inserted {
            #expect(bad?["kind"] as? String == "inserted" && bad?["event_id"] as? String == inserted, "\(text)")
        } else {
            #expect(bad == nil, "the removal itself is excused, by a pass that is then reported: \(text)")
        }
    }

    /// History stored before the file's first log (here by a daemon without a tree) becomes that
    /// log's first leaves when it begins, once: it verifies, and a change to it is caught like any other.
    @Test func eventsStoredBeforeTheFirstLogBecomeItsFirstLeaves() async throws {
        let directory = try makeTemporaryDirectory("tree")
        defer { try? FileManager.default.removeItem(atPath: directory) }
        let store = "\(directory)/ledger.sqlite"
        let events = (0..<200).map(Self.event)
        let untreed = try await Daemon.start(in: directory, extraArguments: ["--signing-key", "off"])
        var client = LedgerClient(configuration: LedgerClientConfiguration(socketPath: untreed.socketPath))
        try await client.logAcknowledged(Array(events[..<150]))
        await client.shutdown()
        await untreed.stop()

        var daemon = try await Daemon.start(in: directory)
        #expect(daemon.stderr.contains("took the events stored before it began") && daemon.stderr.contains("events=150"), "\(daemon.stderr)")
        #expect(try await Self.head(daemon.socketPath)["tree_size"] as? Int == 150)
        client = LedgerClient(configuration: LedgerClientConfiguration(socketPath: daemon.socketPath))
        try await client.logAcknowledged(Array(events[150...]))
        await client.shutdown()
        await daemon.stop()
        daemon = try await Daemon.start(in: directory)
        #expect(!daemon.stderr.contains("took the events stored before it began"), "a log that has begun adopts nothing: \(daemon.stderr)")
        #expect(try await Self.head(daemon.socketPath)["tree_size"] as? Int == 200)
        await daemon.stop()

        let ledger = Ledger(directory: directory, store: store, publicKey: "\(directory)/ledger-signing.key.pub", ids: events.map(\.id))
        let (status, report, text) = try await Self.verify(ledger)
        #expect(status == 0, "\(text)")
        #expect(report["events_checked"] as? Int == 200, "\(text)")
        #expect((report["logs"] as? [[String: Any]])?.first?["leaves"] as? Int == 200, "\(text)")

        _ = try await sqlite(store, "UPDATE ledger_events SET event_data = '{\"n\": 1}' WHERE seq = 10")
        let changed = try await Self.verify(ledger)
        try Self.expectCaught(
            Tampering(name: "an adopted event changed", sql: "", kind: "modified", event: 9), status: changed.status, report: changed.report, ids: ledger.ids,
            changed.text)
    }

    /// A stored row the log cannot read as an event stops its first start, saying which row and how
    /// to go on, and leaves no leaf behind.
    @Test func aRowThatCannotBeAdoptedStopsTheStartAndSaysWhich() async throws {
        let directory = try makeTemporaryDirectory("tree")
        defer { try? FileManager.default.removeItem(atPath: directory) }
        let untreed = try await Daemon.start(in: directory, extraArguments: ["--signing-key", "off"])
        let client = LedgerClient(configuration: LedgerClientConfiguration(socketPath: untreed.socketPath))
        try await client.logAcknowledged((0..<10).map(Self.event))
        await client.shutdown()
        await untreed.stop()
        _ = try await sqlite("\(directory)/ledger.sqlite", "UPDATE ledger_events SET id = 'zzzzzzzz-zzzz-7zzz-zzzz-zzzzzzzzzzzz' WHERE seq = 3")
        do {
            let daemon = try await Daemon.start(in: directory)
            await daemon.stop()
            Issue.record("ledgerd started on a row it could not adopt")
        } catch let Daemon.Failure.exitedBeforeReady(status, stderr) {
            #expect(status != 0)
            #expect(stderr.contains("could not take the events stored before it began") && stderr.contains("zzzzzzzz-zzzz-7zzz-zzzz-zzzzzzzzzzzz"), "\(stderr)")
            #expect(stderr.contains("--signing-key off"), "\(stderr)")
        }
        #expect(try await sqlite("\(directory)/ledger.sqlite", "SELECT count(*) FROM ledger_tree_leaves") == "0")
    }

    /// The daemon remembers the last tree it signed beside its key, and will not sign over a store
    /// that no longer extends it: one put back from an older copy, or one whose signed leaves were
    /// rebuilt from changed events. Leaves after it (a crash's unsigned commits) are signed, with a warning.
    @Test func aDaemonSignsNoHistoryThatDoesNotExtendWhatItSigned() async throws {
        let directory = try makeTemporaryDirectory("tree")
        defer { try? FileManager.default.removeItem(atPath: directory) }
        let store = "\(directory)/ledger.sqlite"
        let lastTree = "\(directory)/ledger-signing.key.last-tree"
        func run(_ events: Range<Int>) async throws {
            let daemon = try await Daemon.start(in: directory)
            let client = LedgerClient(configuration: LedgerClientConfiguration(socketPath: daemon.socketPath))
            try await client.logAcknowledged(events.map(Self.event))
            await client.shutdown()
            await daemon.stop()
        }
        func refusal() async throws -> String {
            do {
                let daemon = try await Daemon.start(in: directory)
                await daemon.stop()
            } catch let Daemon.Failure.exitedBeforeReady(status, stderr) {
                #expect(status != 0)
                return stderr
            }
            Issue.record("ledgerd started on a store that does not extend what it signed")
            return ""
        }
        try await run(0..<100)
        _ = try await sqlite(store, ".backup '\(directory)/old.sqlite'")
        try FileManager.default.copyItem(atPath: lastTree, toPath: "\(directory)/old.last-tree")
        try await run(100..<150)
        _ = try await sqlite(store, ".backup '\(directory)/new.sqlite'")

        func put(_ copy: String) throws {
            for suffix in ["", "-wal", "-shm"] { try? FileManager.default.removeItem(atPath: store + suffix) }
            try FileManager.default.copyItem(atPath: "\(directory)/\(copy).sqlite", toPath: store)
        }
        try put("old")
        let older = try await refusal()
        #expect(older.contains("holds 100 leaves, fewer than the 150 this daemon last signed") && older.contains("move \(lastTree) away"), "\(older)")

        // The tree's tables emptied and one signed event changed: the log the daemon would rebuild is not the one it signed.
        try put("new")
        _ = try await sqlite(store, "DELETE FROM ledger_tree_leaves; DELETE FROM ledger_tree_heads; UPDATE ledger_events SET event_data = '{\"n\": 1}' WHERE seq = 5")
        let rebuilt = try await refusal()
        #expect(rebuilt.contains("does not extend the tree of 150 leaves this daemon last signed"), "\(rebuilt)")

        // Leaves after the tree a daemon signed as it stopped cleanly were written while it was down.
        try put("new")
        try FileManager.default.removeItem(atPath: lastTree)
        let stoppedFile = try String(contentsOfFile: "\(directory)/old.last-tree", encoding: .utf8)
        #expect(stoppedFile.hasSuffix("stopped yes\n"), "\(stoppedFile)")
        try stoppedFile.write(toFile: lastTree, atomically: true, encoding: .utf8)
        let appended = try await refusal()
        #expect(appended.contains("holds 50 leaves after the tree of 100 this daemon signed as it stopped"), "\(appended)")

        // After a crash (the file as a running daemon leaves it), leaves after the last signed tree are signed, and named in a warning.
        try stoppedFile.replacingOccurrences(of: "stopped yes\n", with: "").write(toFile: lastTree, atomically: true, encoding: .utf8)
        let daemon = try await Daemon.start(in: directory)
        #expect(daemon.stderr.contains("leaves after the last tree this daemon signed") && daemon.stderr.contains("leaves=50"), "\(daemon.stderr)")
        #expect(try await Self.head(daemon.socketPath)["tree_size"] as? Int == 150)
        await daemon.stop()
        #expect(try String(contentsOfFile: lastTree, encoding: .utf8).hasSuffix("stopped yes\n"))

        // A daemon running says so in the file at once, so that a crash before its next head is not taken for tampering.
        let running = try await Daemon.start(in: directory)
        #expect(!(try String(contentsOfFile: lastTree, encoding: .utf8).contains("stopped")))
        let client = LedgerClient(configuration: LedgerClientConfiguration(socketPath: running.socketPath))
        try await client.logAcknowledged((150..<160).map(Self.event))
        await client.shutdown()
        running.signal(SIGKILL)
        _ = await running.waitForExit()
        let afterCrash = try await Daemon.start(in: directory)
        await afterCrash.stop()

        // An older copy restored on purpose: with the file moved away, the daemon continues from it.
        try put("old")
        try FileManager.default.removeItem(atPath: lastTree)
        try await run(200..<210)
        let ledger = Ledger(directory: directory, store: store, publicKey: "\(directory)/ledger-signing.key.pub", ids: [])
        #expect(try await Self.verify(ledger).status == 0)

        // A file that is not one ledgerd wrote stops the start, and says what to do.
        try "ledgerd last signed tree\nstore sqlite:\(store)\nlog_id zz\n".write(toFile: lastTree, atomically: true, encoding: .utf8)
        let damaged = try await refusal()
        #expect(damaged.contains("\(lastTree) is not a last signed tree that ledgerd wrote; move it away"), "\(damaged)")
        try FileManager.default.removeItem(atPath: lastTree)

        // The key taken to another store starts over there, and the file follows it.
        let other = try await Daemon.start(in: directory, store: "sqlite:\(directory)/other.sqlite")
        await other.stop()
        #expect(try String(contentsOfFile: lastTree, encoding: .utf8).contains("store sqlite:\(directory)/other.sqlite"))
    }

    /// A last signed tree that cannot be written (here a directory where its new copy goes, which
    /// defeats root too) costs one warning and the check at the next start, never a commit or a head.
    @Test func aLastSignedTreeThatCannotBeWrittenCostsOneWarningAndNothingElse() async throws {
        let directory = try makeTemporaryDirectory("tree")
        defer { try? FileManager.default.removeItem(atPath: directory) }
        let lastTree = "\(directory)/ledger-signing.key.last-tree"
        try FileManager.default.createDirectory(atPath: lastTree + ".new", withIntermediateDirectories: false)
        let daemon = try await Daemon.start(in: directory)
        defer { Task { await daemon.stop() } }
        let client = LedgerClient(configuration: LedgerClientConfiguration(socketPath: daemon.socketPath))
        for round in 0..<3 {
            try await client.logAcknowledged((round * 10..<round * 10 + 10).map(Self.event))
            #expect(try await Self.head(daemon.socketPath)["tree_size"] as? Int == round * 10 + 10)
        }
        let warning = "could not remember the tree just signed"
        #expect(daemon.stderr.components(separatedBy: warning).count - 1 == 1, "\(daemon.stderr)")
        #expect(daemon.stderr.contains("\(lastTree).new"), "\(daemon.stderr)")
        #expect(!FileManager.default.fileExists(atPath: lastTree))

        // Writable again: the next head is remembered.
        try FileManager.default.removeItem(atPath: lastTree + ".new")
        try await client.logAcknowledged((30..<40).map(Self.event))
        #expect(try await Self.head(daemon.socketPath)["tree_size"] as? Int == 40)
        await client.shutdown()
        #expect(try await waitUntil(within: 30) { FileManager.default.fileExists(atPath: lastTree) })
        #expect(try String(contentsOfFile: lastTree, encoding: .utf8).hasPrefix("ledgerd last signed tree"))
        await daemon.stop()
        let ledger = Ledger(directory: directory, store: "\(directory)/ledger.sqlite", publicKey: "\(directory)/ledger-signing.key.pub", ids: [])
        #expect(try await Self.verify(ledger).status == 0)
    }

    /// The running daemon thins its log's heads older than a week to the last of each hour, and
    /// the ledger still verifies.
    @Test func aRunningDaemonThinsHeadsOlderThanAWeek() async throws {
        let directory = try makeTemporaryDirectory("tree")
        defer { try? FileManager.default.removeItem(atPath: directory) }
        let store = "\(directory)/ledger.sqlite"
        var daemon = try await Daemon.start(in: directory)
        let client = LedgerClient(configuration: LedgerClientConfiguration(socketPath: daemon.socketPath))
        try await client.logAcknowledged((0..<200).map(Self.event))
        await client.shutdown()
        #expect(try await Self.head(daemon.socketPath)["tree_size"] as? Int == 200)
        await daemon.stop()
        #expect(try await sqlite(store, "SELECT min(size) FROM ledger_tree_heads") == "200")

        // 150 heads, one a minute from the start of an hour two weeks ago, below the real one; signed
        // by nobody, which thinning does not look at.
        let hour: Int64 = 3_600_000_000
        let old = (Int64(Date().timeIntervalSince1970 * 1_000_000) - 14 * 86_400_000_000) / hour * hour
        _ = try await sqlite(
            store,
            """
            WITH RECURSIVE m(i) AS (SELECT 0 UNION ALL SELECT i + 1 FROM m WHERE i < 149)
            INSERT INTO ledger_tree_heads (log_id, size, root, timestamp, signature)
            SELECT (SELECT log_id FROM ledger_tree), i + 1, zeroblob(32), \(old) + i * 60000000, zeroblob(64) FROM m
            """)
        daemon = try await Daemon.start(in: directory)
        let kept = "SELECT group_concat(size) FROM (SELECT size FROM ledger_tree_heads ORDER BY size)"
        let thinned = try await waitUntil(within: 30) { try await sqlite(store, kept) == "60,120,150,200" }
        let left = try await sqlite(store, kept)
        #expect(thinned, "\(left)")
        await daemon.stop()
        _ = try await sqlite(store, "DELETE FROM ledger_tree_heads WHERE size < 200")
        let ledger = Ledger(directory: directory, store: store, publicKey: "\(directory)/ledger-signing.key.pub", ids: [])
        #expect(try await Self.verify(ledger).status == 0)
    }

    /// A ledger read while it takes events: each list (events, leaf records) may be read to its end
    /// before a commit that the other already shows, which is no tampering. Checked through the
    /// daemon and from the file, again and again while clients log.
    @Test func aLedgerVerifiedWhileItTakesEventsVerifies() async throws {
        let directory = try makeTemporaryDirectory("tree")
        defer { try? FileManager.default.removeItem(atPath: directory) }
        let daemon = try await Daemon.start(in: directory)
        let socket = daemon.socketPath
        let load = Self.keepLogging(to: socket, perRequest: 20)
        #expect(try await waitUntil(within: 60) { Int(try await sqlite("\(directory)/ledger.sqlite", "SELECT count(*) FROM ledger_events")) ?? 0 >= 2_000 })
        // A ledger's first second has no head yet; from then on one is signed each second while events arrive.
        _ = try await Self.head(socket)
        let key = "\(directory)/ledger-signing.key.pub"
        for _ in 0..<3 {
            for place in [["--socket", socket], ["--store", "\(directory)/ledger.sqlite"]] {
                let result = try await runTool("ledger-rpc", ["verify", "--public-key", key] + place)
                #expect(result.status == 0, "\(place): \(result.stdout)\(result.stderr)")
            }
        }
        load.cancel()
        await load.value
        await daemon.stop()
    }

    @Test func leafRecordsChangedWithTheirEventBreakTheSignedRoot() async throws {
        let ledger = try await Self.copyOfLedger()
        defer { try? FileManager.default.removeItem(atPath: ledger.directory) }
        // Whoever rewrites a row and its leaf record alike still cannot sign the new root.
        _ = try await sqlite(ledger.store, "UPDATE ledger_tree_leaves SET records = zeroblob(length(records)) WHERE first_leaf = 0")
        let (status, report, text) = try await Self.verify(ledger)
        #expect(status == 1, "\(text)")
        let logs = try #require(report["logs"] as? [[String: Any]])
        #expect((logs.first?["problems"] as? [String])?.contains { $0.contains("records before leaf") } == true, "\(text)")
    }

    @Test func aStoreRebuiltAndSignedWithAnotherKeyFailsAgainstTheRealKey() async throws {
        let ledger = try await Self.copyOfLedger()
        defer { try? FileManager.default.removeItem(atPath: ledger.directory) }
        // The rewrite: a fresh store with a key of the forger's own, holding the same events but one.
        let forged = try makeTemporaryDirectory("forged")
        defer { try? FileManager.default.removeItem(atPath: forged) }
        let daemon = try await Daemon.start(in: forged)
        let client = LedgerClient(configuration: LedgerClientConfiguration(socketPath: daemon.socketPath))
        var events = (0..<50).map(Self.event)
        events[3].metadata = "{\"n\": 1000}"
        try await client.logAcknowledged(events)
        await client.shutdown()
        _ = try await Self.head(daemon.socketPath)
        await daemon.stop()
        let forgedLedger = Ledger(directory: forged, store: "\(forged)/ledger.sqlite", publicKey: "\(forged)/ledger-signing.key.pub", ids: ledger.ids)
        #expect(try await Self.verify(forgedLedger).status == 0, "the forger's own key verifies their store")
        let (status, report, text) = try await Self.verify(forgedLedger, key: ledger.publicKey)
        #expect(status == 1, "\(text)")
        #expect((report["problems"] as? [String])?.contains { $0.contains("holds no log of the given key") } == true, "\(text)")
    }

    @Test func historyReSignedWithTheSameKeyFromAnOldStateFailsOnlyAgainstASavedHead() async throws {
        let directory = try makeTemporaryDirectory("tree")
        defer { try? FileManager.default.removeItem(atPath: directory) }
        let store = "\(directory)/ledger.sqlite"
        var daemon = try await Daemon.start(in: directory)
        var client = LedgerClient(configuration: LedgerClientConfiguration(socketPath: daemon.socketPath))
        try await client.logAcknowledged((0..<100).map(Self.event))
        await client.shutdown()
        _ = try await Self.head(daemon.socketPath)
        await daemon.stop()
        _ = try await sqlite(store, ".backup '\(directory)/old.sqlite'")

        daemon = try await Daemon.start(in: directory)
        client = LedgerClient(configuration: LedgerClientConfiguration(socketPath: daemon.socketPath))
        try await client.logAcknowledged((100..<200).map(Self.event))
        await client.shutdown()
        let saved = try await runTool("ledger-rpc", ["head", "--json", "--socket", daemon.socketPath])
        let savedFile = "\(directory)/saved-head.json"
        try saved.stdout.write(toFile: savedFile, atomically: true, encoding: .utf8)
        await daemon.stop()

        // The old state put back, and other history committed and signed with the same key, by a
        // forger who holds the key and the host (and so also moves the daemon's last signed tree away).
        for suffix in ["", "-wal", "-shm"] { try? FileManager.default.removeItem(atPath: store + suffix) }
        try FileManager.default.copyItem(atPath: "\(directory)/old.sqlite", toPath: store)
        try FileManager.default.removeItem(atPath: "\(directory)/ledger-signing.key.last-tree")
        daemon = try await Daemon.start(in: directory)
        client = LedgerClient(configuration: LedgerClientConfiguration(socketPath: daemon.socketPath))
        try await client.logAcknowledged((300..<450).map(Self.event))
        await client.shutdown()
        _ = try await Self.head(daemon.socketPath)
        await daemon.stop()

        let ledger = Ledger(directory: directory, store: store, publicKey: "\(directory)/ledger-signing.key.pub", ids: [])
        let alone = try await Self.verify(ledger)
        #expect(alone.status == 0, "without a saved head the rewritten history is self-consistent: \(alone.text)")
        let (status, report, text) = try await Self.verify(ledger, heads: [savedFile])
        #expect(status == 1, "\(text)")
        let problems = (report["logs"] as? [[String: Any]])?.first?["problems"] as? [String] ?? []
        #expect(problems.contains { $0.contains("saved head of 200 leaves") && $0.contains("rewritten and re-signed") }, "\(text)")
        #expect(problems.contains { $0.contains("consistency proof") }, "\(text)")
    }

    @Test func aHeadSavedBeforeMoreEventsStillVerifies() async throws {
        let directory = try makeTemporaryDirectory("tree")
        defer { try? FileManager.default.removeItem(atPath: directory) }
        let daemon = try await Daemon.start(in: directory)
        let client = LedgerClient(configuration: LedgerClientConfiguration(socketPath: daemon.socketPath))
        try await client.logAcknowledged((0..<37).map(Self.event))
        let saved = try await runTool("ledger-rpc", ["head", "--json", "--socket", daemon.socketPath])
        try saved.stdout.write(toFile: "\(directory)/saved.json", atomically: true, encoding: .utf8)
        try await client.logAcknowledged((37..<101).map(Self.event))
        await client.shutdown()
        _ = try await Self.head(daemon.socketPath)
        await daemon.stop()
        let ledger = Ledger(directory: directory, store: "\(directory)/ledger.sqlite", publicKey: "\(directory)/ledger-signing.key.pub", ids: [])
        let (status, _, text) = try await Self.verify(ledger, heads: ["\(directory)/saved.json"])
        #expect(status == 0, "\(text)")
    }

    @Test func aDaemonKilledMidCommitLeavesATreeThatVerifiesAfterRestart() async throws {
        let directory = try makeTemporaryDirectory("tree")
        defer { try? FileManager.default.removeItem(atPath: directory) }
        var daemon = try await Daemon.start(in: directory)
        let socket = daemon.socketPath
        let load = Self.keepLogging(to: socket, perRequest: 50)
        #expect(try await waitUntil(within: 120) { Int(try await sqlite("\(directory)/ledger.sqlite", "SELECT count(*) FROM ledger_events")) ?? 0 >= 1_000 })
        daemon.signal(SIGKILL)
        _ = await daemon.waitForExit()
        load.cancel()
        await load.value
        daemon = try await Daemon.start(in: directory)
        _ = try await Self.head(daemon.socketPath)
        await daemon.stop()
        let ledger = Ledger(directory: directory, store: "\(directory)/ledger.sqlite", publicKey: "\(directory)/ledger-signing.key.pub", ids: [])
        let (status, report, text) = try await Self.verify(ledger)
        #expect(status == 0, "\(text)")
        #expect((report["events_checked"] as? Int ?? 0) >= 1000)
    }

    @Test func retentionLeavesLeavesThatStillVerifyAndOnlyItsRemovalsAreExcused() async throws {
        let ledger = try await Self.copyOfLedger()
        defer { try? FileManager.default.removeItem(atPath: ledger.directory) }
        // The events are weeks old: video_uploaded (200 of 300) expires at once.
        let daemon = try await Daemon.start(in: ledger.directory, extraArguments: ["--retain", "video_uploaded=7d", "--retain-interval", "1"])
        #expect(
            try await waitUntil(within: 120) {
                Int(try await sqlite(ledger.store, "SELECT count(*) FROM ledger_events WHERE event_type = 'video_uploaded'")) == 0
            })
        _ = try await Self.head(daemon.socketPath)
        await daemon.stop()
        let (status, report, text) = try await Self.verify(ledger)
        #expect(status == 0, "\(text)")
        let log = try #require((report["logs"] as? [[String: Any]])?.first)
        #expect(log["removed_by_retention"] as? Int == 200, "\(text)")
        let passes = try #require(report["retention_passes"] as? [[String: Any]])
        #expect(passes.count == 1 && passes.first?["removed"] as? Int == 200, "\(text)")
        let record = try await sqlite(ledger.store, "SELECT id FROM ledger_events WHERE event_type = 'ledger_retention'")
        #expect(passes.first?["retention"] as? String == record, "the tombstones name the pass's own record")

        _ = try await sqlite(ledger.store, "DELETE FROM ledger_events WHERE seq = 4")
        let removed = try await Self.verify(ledger)
        #expect(removed.status == 1, "\(removed.text)")
        #expect((removed.report["first_bad_leaf"] as? [String: Any])?["kind"] as? String == "removed", "\(removed.text)")
        #expect((removed.report["first_bad_leaf"] as? [String: Any])?["event_id"] as? String == ledger.ids[3].lowercaseText, "\(removed.text)")

        // The pass's own record, named for a leaf committed after it: a pass removes only what came before its record.
        let later = try await Daemon.start(in: ledger.directory)
        let client = LedgerClient(configuration: LedgerClientConfiguration(socketPath: later.socketPath))
        try await client.logAcknowledged((300..<305).map(Self.event))
        await client.shutdown()
        await later.stop()
        let last = try await sqlite(ledger.store, "SELECT max(seq) FROM ledger_events")
        _ = try await sqlite(
            ledger.store, "DELETE FROM ledger_events WHERE seq = \(last); INSERT INTO ledger_tree_tombstones (seq, retention) VALUES (\(last), '\(record)')")
        let misdated = try await Self.verify(ledger)
        #expect(misdated.status == 1, "\(misdated.text)")
        #expect((misdated.report["problems"] as? [String])?.contains { $0.contains("before the leaf at sequence \(last)") } == true, "\(misdated.text)")
    }

    @Test func aNewKeyStartsANewLogAndBothVerifyWithoutTakingTheOthersEventsForInserted() async throws {
        let ledger = try await Self.copyOfLedger()
        defer { try? FileManager.default.removeItem(atPath: ledger.directory) }
        let newKey = "\(ledger.directory)/rotated.key"
        #expect(try await runTool("ledger-rpc", ["keygen", newKey]).status == 0)
        let daemon = try await Daemon.start(in: ledger.directory, extraArguments: ["--signing-key", newKey])
        let client = LedgerClient(configuration: LedgerClientConfiguration(socketPath: daemon.socketPath))
        try await client.logAcknowledged((300..<325).map(Self.event))
        await client.shutdown()
        #expect(try await Self.head(daemon.socketPath)["tree_size"] as? Int == 25)
        await daemon.stop()

        let both = try await runTool(
            "ledger-rpc", ["verify", "--store", ledger.store, "--public-key", ledger.publicKey, "--public-key", newKey + ".pub", "--json"])
        let report = try #require(try JSONSerialization.jsonObject(with: Data(both.stdout.utf8)) as? [String: Any])
        #expect(both.status == 0, "\(both.stdout)")
        #expect(report["events_checked"] as? Int == 325)
        #expect((report["logs"] as? [[String: Any]])?.map { $0["leaves"] as? Int ?? 0 }.sorted() == [25, 300])

        // One key given: the other log is not judged, and fails verification, since a log written
        // into the store with a key of the writer's own would cover events inserted under it.
        let (status, oldOnly, text) = try await Self.verify(ledger)
        #expect(status == 1, "\(text)")
        let newLog = try #require((report["logs"] as? [[String: Any]])?.first { $0["leaves"] as? Int == 25 }?["log_id"] as? String)
        #expect((oldOnly["problems"] as? [String])?.contains { $0.contains(newLog) && $0.contains("its key was not given") } == true, "\(text)")
        // Unless only the given logs are to be judged: the other's events are still matched to their own leaves.
        let judged = try await runTool(
            "ledger-rpc", ["verify", "--store", ledger.store, "--public-key", ledger.publicKey, "--ignore-other-logs", "--json"])
        let judgedReport = try #require(try JSONSerialization.jsonObject(with: Data(judged.stdout.utf8)) as? [String: Any])
        #expect(judged.status == 0, "\(judged.stdout)")
        #expect((judgedReport["bad_leaves"] as? [String: Int])?.values.reduce(0, +) == 0, "\(judged.stdout)")
    }
}
