import Foundation
import LedgerClient
import LedgerProtocol
import LedgerStore
import LedgerTestSupport
import Testing

/// `ledgerd --retain` against the real daemon on both stores: what expires goes, each removal is on
/// record before it starts, `ledger-rpc retention` says so, and a purge killed halfway loses nothing
/// that was kept and finishes on the next start.
@Suite struct RetentionTests {
    static let day: Int64 = 86_400_000_000

    static func event(_ type: String, daysOld: Int64, severity: Severity = .info, index: Int) -> LedgerEvent {
        let now = LedgerTimestamp.now().rawValue
        return LedgerEvent(
            id: UUID.ledgerV7(unixMilliseconds: UInt64(now / 1_000) - UInt64(index)), timestamp: LedgerTimestamp(rawValue: now - daysOld * Self.day),
            eventType: type, entityType: "video_asset", entityID: "v-\(index)", severity: severity)
    }

    static func stats(_ socket: String) async throws -> [String: Any] {
        let result = try await runTool("ledger-rpc", ["stats", "--json", "--socket", socket])
        return try #require(try JSONSerialization.jsonObject(with: Data(result.stdout.utf8)) as? [String: Any], "\(result.stderr)")
    }

    /// Polls `events_expired` until `done` says enough, for at most a minute.
    /// Waits up to five minutes: a purge is paced, and on a busy machine (the whole suite at once,
    /// under the address sanitizer) tens of thousands of events take more than one.
    static func waitForExpired(_ socket: String, _ done: (Int) -> Bool) async throws -> Int {
        let deadline = ContinuousClock.now + .seconds(300)
        var expired = 0
        while ContinuousClock.now < deadline {
            expired = try await Self.stats(socket)["events_expired"] as? Int ?? 0
            if done(expired) { return expired }
            try await Task.sleep(for: .milliseconds(50))
        }
        throw ToolFailure(result: ToolResult(status: -1, stdout: "", stderr: "events_expired stopped at \(expired) after five minutes"))
    }

    static func records(_ socket: String) async throws -> [[String: Any]] {
        let result = try await runTool("ledger-rpc", ["query", "type", RetentionPolicy.recordEventType, "--json", "--socket", socket])
        let page = try #require(try JSONSerialization.jsonObject(with: Data(result.stdout.utf8)) as? [String: Any], "\(result.stderr)")
        return try #require(page["events"] as? [[String: Any]])
    }

    @Test(arguments: StoreKind.durable)
    func expiredEventsGoWithARecordOfEachRemoval(kind: StoreKind) async throws {
        let directory = try makeTemporaryDirectory()
        defer { try? FileManager.default.removeItem(atPath: directory) }
        let database = try await TestStore.make(kind)
        let daemon = try await Daemon.start(
            in: directory, store: database.location, extraArguments: ["--retain", "INFO=30d,video_uploaded=1y", "--retain-interval", "1"])
        let expiring = (0..<40).map { Self.event("job_created", daysOld: 31, index: $0) } + (40..<45).map { Self.event("video_uploaded", daysOld: 400, index: $0) }
        let kept =
            (45..<50).map { Self.event("video_uploaded", daysOld: 200, index: $0) }
            + (50..<55).map { Self.event("job_processing_failed", daysOld: 900, severity: .error, index: $0) }
            + (55..<60).map { Self.event("ledger_gap_like", daysOld: 31, severity: .warn, index: $0) }
            + (60..<70).map { Self.event("job_created", daysOld: 29, index: $0) }
        let client = LedgerClient(configuration: LedgerClientConfiguration(socketPath: daemon.socketPath))
        try await client.logAcknowledged(expiring + kept)
        await client.shutdown()

        #expect(try await Self.waitForExpired(daemon.socketPath) { $0 >= expiring.count } == expiring.count)
        let export = try await runTool("ledger-rpc", ["export", "--socket", daemon.socketPath])
        let stored = Set(export.stdout.split(separator: "\n").compactMap { line in
            (try? JSONSerialization.jsonObject(with: Data(line.utf8)) as? [String: Any])?["id"] as? String
        })
        let records = try await Self.records(daemon.socketPath)
        #expect(stored == Set(kept.map(\.id.lowercaseText) + records.compactMap { $0["id"] as? String }), "exactly the expired events went")

        // One record per rule, each saying what it removed and from when.
        let byRule = Dictionary(uniqueKeysWithValues: records.compactMap { record -> (String, [String: Any])? in
            guard let rule = record["entity_id"] as? String, let metadata = record["metadata"] as? [String: Any] else { return nil }
            return (rule, metadata)
        })
        #expect(Set(byRule.keys) == ["INFO=30d", "video_uploaded=1y"])
        #expect(byRule["INFO=30d"]?["events"] as? Int == 40)
        #expect(byRule["video_uploaded=1y"]?["events"] as? Int == 5)
        #expect(byRule["video_uploaded=1y"]?["oldest"] as? String == expiring[40...].compactMap(\.timestamp).min()?.iso8601)
        #expect(byRule["video_uploaded=1y"]?["newest"] as? String == expiring[40...].compactMap(\.timestamp).max()?.iso8601)
        #expect(records.allSatisfy { $0["severity"] as? String == "WARN" && $0["entity_type"] as? String == RetentionPolicy.recordEntityType })

        let status = try await runTool("ledger-rpc", ["retention", "--json", "--socket", daemon.socketPath])
        let shown = try #require(try JSONSerialization.jsonObject(with: Data(status.stdout.utf8)) as? [String: Any], "\(status.stderr)")
        #expect(shown["policy"] as? String == "INFO=30d,video_uploaded=1y")
        let rules = try #require(shown["rules"] as? [[String: Any]])
        #expect(rules.map { $0["rule"] as? String } == ["INFO=30d", "video_uploaded=1y"])
        #expect(rules.map { $0["removed_since_start"] as? Int } == [40, 5])
        #expect(rules.allSatisfy { $0["pending"] as? Int == 0 })
        let table = try await runTool("ledger-rpc", ["retention", "--socket", daemon.socketPath])
        #expect(table.stdout.hasPrefix("policy: INFO=30d,video_uploaded=1y; kinds without a rule: forever\nRULE"), "\(table.stdout)")

        let forged = try await runTool("ledger-rpc", ["log", RetentionPolicy.recordEventType, "x", "y", "--socket", daemon.socketPath])
        #expect(forged.status == 1 && forged.stderr.contains("reserved"), "a client cannot forge a removal record: \(forged.stderr)")
        await daemon.stop()
        withExtendedLifetime(database) {}
    }

    /// A purge killed with SIGKILL halfway: the store opens cleanly with every kept event, the pass's
    /// record is there, and the next start removes the rest under a record of its own.
    @Test(arguments: StoreKind.durable)
    func aPurgeKilledHalfwayFinishesOnTheNextStart(kind: StoreKind) async throws {
        let directory = try makeTemporaryDirectory()
        defer { try? FileManager.default.removeItem(atPath: directory) }
        let database = try await TestStore.make(kind)
        let total = 60_000
        do {
            let store = try await database.open()
            for start in stride(from: 0, to: total, by: 10_000) {
                _ = try await store.append((start..<start + 10_000).map { Self.event("clip_created", daysOld: 60, index: $0) })
            }
            _ = try await store.append((0..<20).map { Self.event("clip_created", daysOld: 1, index: total + $0) })
            await store.close()
        }
        let retain = ["--retain", "INFO=30d", "--retain-interval", "3600"]
        let daemon = try await Daemon.start(in: directory, store: database.location, extraArguments: retain)
        let atKill = try await Self.waitForExpired(daemon.socketPath) { $0 > 0 }
        daemon.signal(SIGKILL)
        #expect(await daemon.waitForExit() == 128 + SIGKILL)
        #expect(atKill < total, "killed before the purge finished")

        let reopened = try await Daemon.start(in: directory, store: database.location)
        let twoDaysAgo = LedgerTimestamp(rawValue: LedgerTimestamp.now().rawValue - 2 * Self.day)
        let (young, left) = try await LedgerClient(configuration: LedgerClientConfiguration(socketPath: reopened.socketPath)).executeThenShutdown { client in
            (try await client.count(EventFilter(since: twoDaysAgo)), try await client.count(EventFilter(eventType: "clip_created", until: twoDaysAgo)))
        }
        #expect(young == 21, "the 20 kept events and the record")
        let remaining = Int(left)
        #expect(remaining > 0 && remaining < total, "part of the purge was done: \(remaining) of \(total) left")
        let first = try await Self.records(reopened.socketPath)
        #expect(first.count == 1 && (first.first?["metadata"] as? [String: Any])?["events"] as? Int == total)
        await reopened.stop()

        let resumed = try await Daemon.start(in: directory, store: database.location, extraArguments: retain)
        #expect(try await Self.waitForExpired(resumed.socketPath) { $0 >= remaining } == remaining)
        let records = try await Self.records(resumed.socketPath)
        #expect(records.count == 2)
        #expect(records.compactMap { ($0["metadata"] as? [String: Any])?["events"] as? Int }.sorted() == [remaining, total].sorted())
        let count = try await runTool("ledger-rpc", ["query", "total", "--socket", resumed.socketPath])
        #expect(count.stdout.trimmingCharacters(in: .whitespacesAndNewlines) == "22")
        await resumed.stop()
        withExtendedLifetime(database) {}
    }
}
