import Foundation
import LedgerClient
import LedgerProtocol
import LedgerTestSupport
import Synchronization
import Testing

/// The real ledgerd killed, stopped and starved of disk under acknowledged load from several clients.
@Suite struct FaultTests {
    static let isRoot = getuid() == 0

    /// Every id in the store, as often as it is there.
    static func storedIDs(_ database: TestStore) async throws -> [UUID] {
        try await database.shell("SELECT id FROM ledger_events").split(separator: "\n").compactMap { UUID(uuidString: String($0)) }
    }

    /// The stored ids that came from the clients' own events: the gap records ledgerd writes when a
    /// fire-and-forget client reports what it dropped under backpressure are not among what they sent.
    static func storedClientIDs(_ database: TestStore) async throws -> [UUID] {
        try await database.shell("SELECT id FROM ledger_events WHERE event_type <> 'ledger_gap'").split(separator: "\n").compactMap {
            UUID(uuidString: String($0))
        }
    }

    @Test(arguments: StoreKind.durable)
    func kill9UnderAcknowledgedLoadLosesNothingAcknowledged(kind: StoreKind) async throws {
        let directory = try makeTemporaryDirectory()
        defer { try? FileManager.default.removeItem(atPath: directory) }
        let database = try await TestStore.make(kind)
        let daemon = try await Daemon.start(in: directory, store: database.location)
        let load = AckedLoad(socket: daemon.socketPath, clients: 8, batch: 20, requestTimeoutSeconds: 10, stopOnError: true)
        try await load.waitForAcknowledged(atLeast: 2_000)

        daemon.signal(SIGKILL)
        #expect(await daemon.waitForExit() == 128 + SIGKILL)
        await load.finish()
        let acknowledged = load.acknowledged.withLockedValue { $0 }
        #expect(acknowledged.count >= 2_000)

        if kind == .sqlite {
            #expect(try await database.shell("PRAGMA integrity_check") == "ok")
        }
        let restarted = try await Daemon.start(in: directory, store: database.location)
        let stored = try await Self.storedIDs(database)
        #expect(Set(stored).count == stored.count, "no event is stored twice")
        let missing = Set(acknowledged).subtracting(stored)
        #expect(missing.isEmpty, "\(missing.count) of \(acknowledged.count) acknowledged events are missing")
        let unknown = Set(stored).subtracting(load.sent.withLockedValue { $0 })
        #expect(unknown.isEmpty, "\(unknown.count) stored events were never sent")
        #expect(try await EndToEndTests.total(socket: restarted.socketPath) == stored.count)
        let after = try await runTool("ledger-rpc", ["log", "job_created", "job", "after-restart", "--socket", restarted.socketPath])
        #expect(after.status == 0, "the restarted daemon takes new events: \(after.stderr)")
        await restarted.stop()
        withExtendedLifetime(database) {}
    }

    @Test(arguments: StoreKind.durable)
    func sigtermUnderLoadCommitsEverythingReceived(kind: StoreKind) async throws {
        let directory = try makeTemporaryDirectory()
        defer { try? FileManager.default.removeItem(atPath: directory) }
        let database = try await TestStore.make(kind)
        let daemon = try await Daemon.start(in: directory, store: database.location)
        // Fire-and-forget senders too: what the daemon read from them must be committed as well.
        let load = AckedLoad(
            socket: daemon.socketPath, clients: 8, batch: 20, requestTimeoutSeconds: 10, stopOnError: true, fireAndForgetClients: 2)
        try await load.waitForAcknowledged(atLeast: 2_000)

        daemon.signal(SIGTERM)
        #expect(await daemon.waitForExit() == 0)
        await load.finish()

        // The daemon's last line accounts for every event it read.
        let stopped = try #require(daemon.stderr.split(separator: "\n").last { $0.hasSuffix("stopped") }, "\(daemon.stderr)")
        func counter(_ name: String) throws -> Int {
            let match = try #require(stopped.firstMatch(of: try Regex("\(name)=([0-9]+)")), "\(name) in \(stopped)")
            let digits = match.output[1].substring.map(String.init) ?? ""
            return try #require(Int(digits))
        }
        let received = try counter("received")
        let committed = try counter("committed")
        #expect(received > 0)
        #expect(try counter("failed") == 0)
        #expect(received == committed + (try counter("duplicate")), "everything received is committed: \(stopped)")

        let stored = try await Self.storedIDs(database)
        #expect(stored.count == committed)
        let acknowledged = load.acknowledged.withLockedValue { $0 }
        let missing = Set(acknowledged).subtracting(stored)
        #expect(missing.isEmpty, "\(missing.count) of \(acknowledged.count) acknowledged events are missing")
        let unknown = Set(try await Self.storedClientIDs(database)).subtracting(load.sent.withLockedValue { $0 })
        #expect(unknown.isEmpty, "\(unknown.count) stored events were never sent")
        withExtendedLifetime(database) {}
    }

    @Test(.enabled(if: Self.isRoot, "mounting a small tmpfs needs root"))
    func aFullDiskGetsNoAckKeepsAnsweringAndRecovers() async throws {
        let directory = try makeTemporaryDirectory()
        let disk = try await SmallDisk(at: "\(directory)/disk", megabytes: 6)
        defer {
            disk.unmount()
            try? FileManager.default.removeItem(atPath: directory)
        }
        let daemon = try await Daemon.start(in: directory, store: "sqlite:\(disk.path)/ledger.sqlite")
        // The request deadline must outlast a slow commit on a loaded machine, so that only the full disk ends the clients.
        let load = AckedLoad(socket: daemon.socketPath, clients: 4, batch: 50, requestTimeoutSeconds: 10, stopOnError: true)
        try await load.waitForAcknowledged(atLeast: 1_000)
        try #require(load.failures.withLockedValue { $0 }.isEmpty, "no request failed before the disk was filled: \(load.failures.withLockedValue { $0 })")
        try await disk.fill()

        // Commits fail from here on: the clients' requests time out rather than being acknowledged.
        let deadline = ContinuousClock.now + .seconds(60)
        while load.failures.withLockedValue({ $0.count }) < 4, ContinuousClock.now < deadline {
            try await Task.sleep(for: .milliseconds(50))
        }
        await load.finish()
        #expect(load.failures.withLockedValue { $0.count } == 4, "every client saw its request go unacknowledged")
        let stats = try await PostgresOutageTests.stats(daemon.socketPath)
        #expect(stats["store_available"] == 0, "\(stats)")
        #expect((stats["backlog"] ?? 0) > 0, "the unwritten events are held: \(stats)")
        #expect(daemon.stderr.contains("full"), "the log says why: \(daemon.stderr.suffix(500))")
        let acknowledgedWhileFull = load.acknowledgedCount
        let total = try await runTool("ledger-rpc", ["query", "total", "--socket", daemon.socketPath])
        #expect(total.status == 0, "queries are still answered: \(total.stderr)")
        let refused = try await runTool("ledger-rpc", ["log", "job_created", "job", "while-full", "--timeout", "2", "--socket", daemon.socketPath])
        #expect(refused.status != 0, "no ack for what is not written")

        try disk.free()
        var available: Int64? = 0
        for _ in 0..<200 where available != 1 {
            try await Task.sleep(for: .milliseconds(100))
            available = try await PostgresOutageTests.stats(daemon.socketPath)["store_available"]
        }
        #expect(available == 1, "the held events are written once space returns")
        let after = try await runTool("ledger-rpc", ["log", "job_created", "job", "after", "--socket", daemon.socketPath])
        #expect(after.status == 0, "\(after.stderr)")
        await daemon.stop()

        let store = TestStore.existingSQLite(at: "\(disk.path)/ledger.sqlite")
        #expect(try await store.shell("PRAGMA integrity_check") == "ok")
        let stored = try await Self.storedIDs(store)
        #expect(Set(stored).count == stored.count)
        let acknowledged = load.acknowledged.withLockedValue { $0 }
        #expect(acknowledged.count == acknowledgedWhileFull)
        let missing = Set(acknowledged).subtracting(stored)
        #expect(missing.isEmpty, "\(missing.count) of \(acknowledged.count) acknowledged events are missing")
        let held = load.sent.withLockedValue { $0 }.subtracting(acknowledged)
        let lost = held.subtracting(stored)
        #expect(!held.isEmpty && lost.isEmpty, "of \(held.count) events sent but not acknowledged, \(lost.count) were never written")
    }

    @Test(.enabled(if: Self.isRoot, "mounting a read-only tmpfs needs root"))
    func aReadOnlyStoreDirectoryStopsStartUpWithTheFileNamed() async throws {
        let directory = try makeTemporaryDirectory()
        let disk = try await SmallDisk(at: "\(directory)/disk", megabytes: 1, readOnly: true)
        defer {
            disk.unmount()
            try? FileManager.default.removeItem(atPath: directory)
        }
        let path = "\(disk.path)/ledger.sqlite"
        let error = await #expect(throws: Daemon.Failure.self) {
            _ = try await Daemon.start(in: directory, store: "sqlite:\(path)")
        }
        guard case .exitedBeforeReady(let status, let stderr)? = error else { return }
        #expect(status != 0)
        #expect(stderr.contains(path), "\(stderr)")
        #expect(stderr.lowercased().contains("read-only") || stderr.lowercased().contains("readonly"), "\(stderr)")
    }

    /// CPU time the process has used, in clock ticks.
    static func cpuTicks(_ pid: Int32) -> Int? {
        guard let stat = try? String(contentsOfFile: "/proc/\(pid)/stat", encoding: .utf8) else { return nil }
        let fields = stat.split(separator: ")").last?.split(separator: " ") ?? []
        // utime and stime are fields 14 and 15; the 12th and 13th after the command's closing parenthesis.
        guard fields.count > 12, let user = Int(fields[11]), let system = Int(fields[12]) else { return nil }
        return user + system
    }

    /// Near the file-descriptor limit the daemon turns connections away with TOO_MANY_CONNECTIONS
    /// instead of failing to accept them, which had it spin on a core until descriptors freed up.
    @Test func atTheFileDescriptorLimitConnectionsAreTurnedAwayWithoutSpinning() async throws {
        let directory = try makeTemporaryDirectory()
        let socket = "\(directory)/ledgerd.sock"
        let process = Process()
        process.executableURL = URL(fileURLWithPath: "/bin/bash")
        process.arguments = ["-c", "ulimit -n 200 && exec \"$0\" --socket \"$1\" --store memory 2>\"$2\"", Binaries.url("ledgerd").path, socket, "\(directory)/log"]
        try process.run()
        defer {
            process.terminate()
            process.waitUntilExit()
        }
        var ready = false
        for _ in 0..<200 where !ready {
            ready = (try? String(contentsOfFile: "\(directory)/log", encoding: .utf8))?.contains("ready") == true
            if !ready { try await Task.sleep(for: .milliseconds(25)) }
        }
        #expect(ready)
        let log = try String(contentsOfFile: "\(directory)/log", encoding: .utf8)
        #expect(log.contains("connection limits lowered to fit the file-descriptor limit"), "\(log)")
        var held: [Int32] = []
        defer { for descriptor in held { close(descriptor) } }
        for _ in 0..<250 {
            if let descriptor = RawConnection.unix(socket) { held.append(descriptor) }
        }
        try await Task.sleep(for: .seconds(1))
        let before = try #require(Self.cpuTicks(process.processIdentifier))
        try await Task.sleep(for: .seconds(2))
        let after = try #require(Self.cpuTicks(process.processIdentifier))
        // A spinning accept loop takes a whole core, about 200 ticks in 2 s; an idle daemon next to none.
        #expect(after - before < 100, "ledgerd used \(after - before) ticks in 2 s while 250 connections were held")
        let refused = try await runTool("ledger-rpc", ["ping", "--socket", socket])
        #expect(refused.stderr.contains("TOO_MANY_CONNECTIONS"), "\(refused.stderr)")
        for descriptor in held { close(descriptor) }
        held = []
        var pinged = false
        for _ in 0..<100 where !pinged {
            pinged = try await runTool("ledger-rpc", ["ping", "--socket", socket]).status == 0
            if !pinged { try await Task.sleep(for: .milliseconds(50)) }
        }
        #expect(pinged, "once they leave, clients get in again")
    }

    enum FileChange: String, CaseIterable, Sendable {
        case logDeleted, logTruncated, databaseDeleted, databaseReplaced
    }

    /// The files changed under a running daemon: it stops acknowledging at once, and says so in its
    /// log and in stats, instead of acknowledging events into a file nobody will read.
    @Test(arguments: FileChange.allCases)
    func aDatabaseChangedUnderTheDaemonStopsItsAcks(change: FileChange) async throws {
        let directory = try makeTemporaryDirectory()
        let daemon = try await Daemon.start(in: directory)
        func log(_ id: String) async throws -> ToolResult {
            try await runTool("ledger-rpc", ["log", "job_created", "job", id, "--socket", daemon.socketPath])
        }
        #expect(try await log("before").status == 0)
        let path = daemon.storePath
        switch change {
        case .logDeleted: unlink(path + "-wal")
        case .logTruncated: truncate(path + "-wal", 0)
        case .databaseDeleted: unlink(path)
        case .databaseReplaced:
            let other = "\(directory)/other.sqlite"
            _ = try await Subprocess.run(["sqlite3", other, "CREATE TABLE t (x)"])
            rename(other, path)
        }
        let after = try await log("after")
        #expect(after.status == 1, "acknowledged into a file that was \(change): \(after.stdout)")
        let stats = try await runTool("ledger-rpc", ["stats", "--json", "--socket", daemon.socketPath])
        #expect(stats.stdout.contains("\"sqlite_files_replaced\":true"), "\(stats.stdout)")
        #expect(stats.stdout.contains("\"sqlite_writes_refused\":true") && stats.stdout.contains("\"store_available\":false"))
        #expect(try await log("later").status == 1, "and it stays refused until restart")
        #expect(daemon.stderr.contains("while ledgerd was writing it"), "\(daemon.stderr)")
        await daemon.stop()
    }
}

/// A tmpfs of a few megabytes, to run out of space on purpose.
struct SmallDisk {
    let path: String

    init(at path: String, megabytes: Int, readOnly: Bool = false) async throws {
        self.path = path
        try FileManager.default.createDirectory(atPath: path, withIntermediateDirectories: true)
        // A tmpfs is world-writable (1777) unless told otherwise, and ledgerd refuses such a data directory.
        let options = "size=\(megabytes)m,mode=0750" + (readOnly ? ",ro" : "")
        let mounted = try await Subprocess.run(["mount", "-t", "tmpfs", "-o", options, "tmpfs", path])
        guard mounted.status == 0 else { throw Failure(message: "mount -t tmpfs at \(path) failed: \(mounted.stderr)") }
    }

    /// Takes every free byte with a filler file.
    func fill() async throws {
        let result = try await Subprocess.run(["dd", "if=/dev/zero", "of=\(self.path)/filler", "bs=64k"])
        guard result.stderr.contains("No space left") else { throw Failure(message: "dd did not fill \(self.path): \(result.stderr)") }
    }

    func free() throws {
        try FileManager.default.removeItem(atPath: "\(self.path)/filler")
    }

    func unmount() {
        _ = try? Subprocess.run(["umount", "-l", self.path])
    }

    struct Failure: Error, CustomStringConvertible {
        var message: String
        var description: String { self.message }
    }
}
