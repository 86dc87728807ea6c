import ArgumentParser
import Foundation
import LedgerClient
import LedgerProtocol
import LedgerStore
import LedgerTree

/// `ledger-rpc keygen`: a new Ed25519 key for `ledgerd --signing-key`.
struct Keygen: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Make an Ed25519 signing key for ledgerd --signing-key, and its public key for verify.",
        discussion: """
            Writes the private key to FILE (PEM, readable by its owner only; an existing file is never \
            replaced) and the public key to FILE.pub. Give FILE to ledgerd --signing-key and FILE.pub to \
            ledger-rpc verify --public-key. openssl genpkey -algorithm ed25519 makes the same kind of key.
            """)

    @Argument(help: ArgumentHelp("Where to write the private key.", valueName: "file"))
    var file: String

    func run() throws {
        let key = LogKey()
        let descriptor = open(self.file, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0o600)
        guard descriptor >= 0 else {
            throw ValidationError("cannot create \(self.file): \(String(cString: strerror(errno)))\(errno == EEXIST ? " (a key is never replaced)" : "")")
        }
        let handle = FileHandle(fileDescriptor: descriptor, closeOnDealloc: true)
        handle.write(Data(key.pem.utf8))
        try handle.synchronize()
        guard FileManager.default.createFile(atPath: self.file + ".pub", contents: Data(key.publicKey.pem.utf8)) else {
            throw ValidationError("cannot write \(self.file).pub")
        }
        print("private key: \(self.file)\npublic key:  \(self.file).pub\nlog id:      \(key.publicKey.logID.hex)")
    }
}

/// `ledger-rpc head`: the newest signed tree head, to publish elsewhere.
struct Head: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Print the log's newest signed tree head, to keep or publish elsewhere.",
        discussion: """
            ledgerd signs the size and root hash of its log's Merkle tree at least once a second while \
            events arrive, and on this request. Save the JSON (ledger-rpc head --json > head.json) \
            somewhere the ledger's host cannot change (a ticket, another host, a witness): \
            ledger-rpc verify --head head.json later proves that every event the head covers is \
            still there, unchanged, in order. docs/VERIFY.md says how.
            """)

    @OptionGroup var connection: ConnectionOptions

    @Flag(name: .long, help: "Print one JSON object, the form verify --head reads.")
    var json = false

    func run() async throws {
        let result = try await self.connection.run { try await $0.treeHead() }
        guard let head = result.head else {
            // Not a usage error: the command was right, the daemon has nothing to sign.
            printError("ledgerd keeps no Merkle tree (it was started with --signing-key off, or on a memory store), so there is no head to show")
            throw ExitCode.failure
        }
        if self.json {
            print(TreeJSON.head(head))
            return
        }
        let key = try? LogPublicKey(raw: result.publicKey)
        print("log id:     \(HexText.text(head.logID))")
        print("tree size:  \(head.treeSize)")
        print("root hash:  \(HexText.text(head.rootHash))")
        print("signed at:  \(head.timestamp.iso8601)")
        print("signature:  \(HexText.text(head.signature))")
        if let key { print("public key:\n\(key.pem)") }
    }
}

/// `ledger-rpc prove`: an inclusion proof for one event.
struct Prove: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Print the proof that an event is in the log's signed tree, for verify-proof or any RFC 9162 verifier.",
        discussion: """
            The proof (JSON) holds the event's leaf hash and number, the audit path and the signed \
            head it leads to; ledger-rpc verify-proof checks it offline with the log's public key.
            """)

    @OptionGroup var connection: ConnectionOptions

    @Argument(help: ArgumentHelp("The event's id.", valueName: "event-id"))
    var eventID: String

    @Option(name: .long, help: ArgumentHelp("Prove against this saved head (its tree size) instead of the newest.", valueName: "file"))
    var head: String?

    func run() async throws {
        guard let id = UUID(uuidString: self.eventID) else { throw ValidationError("'\(self.eventID)' is not an event id (a UUID)") }
        let size = try self.head.map { try TreeJSON.readHead($0).treeSize } ?? 0
        let proof = try await self.connection.run { try await $0.prove(id, treeSize: size) }
        print(TreeJSON.proof(proof))
    }
}

/// `ledger-rpc verify-proof`: checks an inclusion proof offline.
struct VerifyProof: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "verify-proof",
        abstract: "Check an inclusion proof from ledger-rpc prove offline, against the log's public key.",
        discussion: """
            Exit status 0 when the proof leads from the event's leaf to the root its head signs, \
            under the given key; 1 when it does not; 2 when no proof could be read from the file, \
            or on a usage error.
            """)

    @Argument(help: ArgumentHelp("The proof's JSON file, or - for standard input.", valueName: "proof"))
    var proof: String

    @Option(name: .long, help: ArgumentHelp("The log's public key (PEM).", valueName: "file"))
    var publicKey: String

    func run() throws {
        let key = try Verify.readKey(self.publicKey)
        let proof: InclusionProof
        do {
            proof = try TreeJSON.readProof(self.proof)
        } catch let error as TreeJSON.Problem {
            // Not a proof that failed: no proof was read, as verify reports a store it cannot read.
            printError("could not check: \(error.description)")
            throw ExitCode(Verify.notChecked)
        }
        if let problem = TreeProver.check(proof, key: key) {
            FileHandle.standardError.write(Data("ledger-rpc: proof FAILED: \(problem)\n".utf8))
            throw ExitCode.failure
        }
        print(
            "proof verified: event \(proof.eventID.lowercaseText) is leaf \(proof.leafIndex) of the tree of \(proof.head.treeSize) leaves that log \(HexText.text(proof.head.logID)) signed at \(proof.head.timestamp.iso8601)"
        )
    }
}

/// `ledger-rpc verify`: recomputes the ledger's trees and checks them against signed heads.
struct Verify: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Check that the stored events are exactly those the log signed: none changed, removed, inserted or reordered.",
        discussion: """
            Reads every event in commit order, recomputes its leaf, and checks each against the leaf \
            committed for it and the tree against every signed head, the newest last. With --head, \
            also checks that the log still extends a head saved earlier (ledger-rpc head --json), \
            which catches history rewritten and signed again from an older state. Events that \
            retention removed leave their leaf behind and are reported, with the pass that removed \
            them. The first bad leaf is named: which event, and whether it was modified, removed, \
            inserted or reordered. Give a --public-key for every log the store keeps (one per \
            key a daemon signed with): a log of no given key fails the check unless \
            --ignore-other-logs says to judge only those given. Exit status 0 when verified, 1 \
            when not, and 2 when the check \
            could not be made: the daemon unreachable or out of time, the store unreadable, or a \
            usage error.

            Without --store the daemon relays its store's logs and events, page by page, and \
            they are checked all the same against the public key and the saved heads. --store \
            reads the store directly instead, without the daemon (which may be down or not \
            trusted): the SQLite file ledgerd was started with, or its PostgreSQL database \
            (postgres://… or key=value pairs). docs/VERIFY.md says what is checked.
            """)

    @OptionGroup var connection: ConnectionOptions

    @Option(name: .long, help: ArgumentHelp("A log's public key (PEM); repeat for several logs.", valueName: "file"))
    var publicKey: [String]

    @Option(name: .long, help: ArgumentHelp("A head saved earlier (JSON from head --json) that the log must still extend; repeatable.", valueName: "file"))
    var head: [String] = []

    @Option(
        name: .long,
        help: ArgumentHelp(
            "The store to read: a SQLite file (sqlite:PATH or PATH), or a PostgreSQL database (postgres://… or libpq key=value pairs).",
            valueName: "store"))
    var store: String?

    @Flag(
        name: .long,
        help: ArgumentHelp(
            "Judge only the logs of the keys given; the store's other logs still place their events, but are not checked and do not fail verification."
        ))
    var ignoreOtherLogs = false

    @Flag(name: .long, help: "Print one JSON object.")
    var json = false

    func validate() throws {
        if self.publicKey.isEmpty { throw ValidationError("--public-key is required: the key (FILE.pub) whose signatures the log must carry") }
    }

    static func readKey(_ file: String) throws -> LogPublicKey {
        guard let data = FileManager.default.contents(atPath: file), let text = String(data: data, encoding: .utf8) else {
            throw ValidationError("--public-key \(file): cannot be read")
        }
        do {
            return try LogPublicKey(pem: text)
        } catch {
            // A private key given by mistake still names its log.
            if let key = try? LogKey(pem: text) { return key.publicKey }
            throw ValidationError("--public-key \(file): \(error.message)")
        }
    }

    func run() async throws {
        let keys = try self.publicKey.map(Self.readKey)
        let saved = try self.head.map { file in
            do { return try TreeJSON.readHead(file) } catch { throw ValidationError("--head \(error)") }
        }
        let verifier = TreeVerifier(keys: keys, savedHeads: saved, ignoresOtherLogs: self.ignoreOtherLogs)
        let report: VerificationReport
        do {
            if let store = self.store {
                report = try await verifier.verify(try Self.openStore(store))
            } else {
                report = try await self.connection.client().executeThenShutdown { client in
                    try await verifier.verify(try await DaemonTreeSource.connect(client))
                }
            }
        } catch let error as TreeError {
            // What was read is not a log's data: that is a finding about the ledger, not a failure to read it.
            printError("not verified: \(error.message)")
            throw ExitCode.failure
        } catch let error as LedgerClientError {
            printError("could not verify: \(error.message)")
            throw ExitCode(Self.notChecked)
        } catch let error as StoreError {
            printError("could not verify: \(error.message)")
            throw ExitCode(Self.notChecked)
        }
        print(self.json ? Self.json(report) : Self.text(report), terminator: "")
        if !report.verified { throw ExitCode.failure }
    }

    /// The exit status when the ledger could not be read to the end (the daemon unreachable or
    /// timing out, the store unreadable), as diff and cmp report trouble: a monitoring script must
    /// not take an outage for tampering, nor tampering for an outage.
    static let notChecked: Int32 = 2

    /// Anything that is not a PostgreSQL connection string is a file, as `sqlite3 FILE` takes one.
    static func openStore(_ text: String) throws -> any TreeSource {
        let location = (try? StoreLocation(parsing: text)) ?? .sqlite(path: text)
        do {
            switch location {
            case .sqlite(let path): return try SQLiteTreeReader(path: path)
            case .postgres(let info): return try PostgresTreeReader(connectionInfo: info)
            case .memory: throw ValidationError("--store \(text): a memory store keeps nothing to verify")
            }
        } catch let error as StoreError {
            throw StoreError(code: error.code, message: "--store \(location): \(error.message)", backendCode: error.backendCode)
        }
    }

    static func text(_ report: VerificationReport) -> String {
        var lines: [String] = []
        for log in report.logs {
            let head = log.latestHead.map { "newest head \($0.treeSize) leaves, signed \($0.timestamp.iso8601)" } ?? "no signed head"
            lines.append(
                "log \(HexText.text(log.logID))\(log.keyGiven ? "" : " (no key given: not judged)"): \(log.leaves) leaves, \(head), \(log.headsChecked) heads checked"
                    + (log.unsignedLeaves > 0 ? ", \(log.unsignedLeaves) leaves not yet signed" : "")
                    + (log.retained > 0 ? ", \(log.retained) removed by retention" : ""))
            for problem in log.problems { lines.append("  problem: \(problem)") }
        }
        for pass in report.retentionPasses { lines.append("retention pass \(pass.retention) removed \(pass.removed) leaves' events") }
        for problem in report.problems { lines.append("problem: \(problem)") }
        if let bad = report.firstBadLeaf {
            lines.append("first bad leaf: \(bad.kind.rawValue): \(bad.detail)")
            lines.append("bad leaves: " + BadLeaf.Kind.allCases.compactMap { kind in report.badLeaves[kind].map { "\(kind.rawValue) \($0)" } }.joined(separator: ", "))
        }
        lines.append(report.verified ? "verified: \(report.eventsChecked) events" : "NOT VERIFIED")
        return lines.map(TerminalText.escaped).joined(separator: "\n") + "\n"
    }

    static func json(_ report: VerificationReport) -> String {
        let logs = report.logs.map { log in
            "{\"log_id\":\"\(HexText.text(log.logID))\",\"key_given\":\(log.keyGiven),\"leaves\":\(log.leaves),\"root_hash\":\"\(log.root.hex)\","
                + "\"newest_head\":\(log.latestHead.map(TreeJSON.head) ?? "null"),\"unsigned_leaves\":\(log.unsignedLeaves),"
                + "\"removed_by_retention\":\(log.retained),\"heads_checked\":\(log.headsChecked),"
                + "\"problems\":[\(log.problems.map(JSONText.quote).joined(separator: ","))]}"
        }
        let bad = report.firstBadLeaf.map { bad in
            "{\"kind\":\"\(bad.kind.rawValue)\",\"log_id\":\(bad.logID.map { "\"\(HexText.text($0))\"" } ?? "null"),"
                + "\"leaf\":\(bad.leaf.map(String.init) ?? "null"),\"sequence\":\(bad.sequence),\"event_id\":\"\(bad.eventID.lowercaseText)\","
                + "\"detail\":\(JSONText.quote(bad.detail))}"
        }
        let counts = BadLeaf.Kind.allCases.map { "\"\($0.rawValue)\":\(report.badLeaves[$0] ?? 0)" }.joined(separator: ",")
        let passes = report.retentionPasses.map { "{\"retention\":\"\($0.retention)\",\"removed\":\($0.removed)}" }.joined(separator: ",")
        return "{\"verified\":\(report.verified),\"events_checked\":\(report.eventsChecked),"
            + "\"logs\":[\(logs.joined(separator: ","))],\"first_bad_leaf\":\(bad ?? "null"),\"bad_leaves\":{\(counts)},"
            + "\"retention_passes\":[\(passes)],\"problems\":[\(report.problems.map(JSONText.quote).joined(separator: ","))]}\n"
    }
}
