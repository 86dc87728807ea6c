import Foundation
import LedgerClient
import LedgerProtocol
import LedgerTestSupport
import NIOConcurrencyHelpers
import Synchronization
import Testing

/// ledgerd on PostgreSQL while the PostgreSQL server is stopped and started under load.
@Suite struct PostgresOutageTests {
    @Test(.enabled(if: TestPostgres.uri != nil || TestPostgres.isRequired))
    func nothingAcknowledgedIsLostWhenPostgreSQLRestartsUnderLoad() async throws {
        let server = try await TestPostgres.PrivateServer.start()
        let directory = try makeTemporaryDirectory()
        let daemon = try await Daemon.start(in: directory, store: server.uri)
        var settings = LedgerClientConfiguration(socketPath: daemon.socketPath)
        settings.requestTimeout = .seconds(60)
        let configuration = settings
        let tally = Tally()

        // Four writers wait for each acknowledgement; a fifth logs fire-and-forget and must never block.
        let writers = Task {
            await withTaskGroup(of: Void.self) { group in
                for writer in 0..<4 {
                    group.addTask {
                        let client = LedgerClient(configuration: configuration)
                        var index = 0
                        while !tally.stop.load(ordering: .relaxed) {
                            let event = LedgerClient.makeEvent(eventType: "job_processing_completed", entityType: "job", entityID: "w\(writer)-\(index)")
                            do {
                                try await client.logAcknowledged(event)
                                tally.acknowledged.withLockedValue { $0.append(event.id) }
                            } catch {
                                tally.failures.withLockedValue { $0.append("\(error)") }
                            }
                            index += 1
                        }
                        await client.shutdown()
                    }
                }
            }
        }
        let fireAndForget = Task { () -> Duration in
            let client = LedgerClient(configuration: configuration)
            var slowest = Duration.zero
            while !tally.stop.load(ordering: .relaxed) {
                let started = ContinuousClock.now
                client.logEvent(eventType: "clip_created", entityType: "clip", entityID: "ff")
                slowest = max(slowest, ContinuousClock.now - started)
                try? await Task.sleep(for: .milliseconds(1))
            }
            await client.shutdown()
            return slowest
        }

        try await Task.sleep(for: .seconds(1))
        let beforeOutage = tally.acknowledged.withLockedValue { $0.count }
        try await server.stop()
        try await Task.sleep(for: .seconds(2))

        // The daemon stays up and says what is happening.
        let pinger = LedgerClient(configuration: configuration)
        var answered = "no answer"
        do {
            answered = "\(try await pinger.ping().server)"
        } catch {
            answered = "\(error)"
        }
        await pinger.shutdown()
        #expect(answered.hasPrefix("ledgerd"), "ping during the outage: \(answered)")
        let stats = try await Self.stats(daemon.socketPath)
        #expect(stats["store_available"] == 0)
        #expect((stats["backlog"] ?? 0) > 0, "held events are visible: \(stats)")
        let duringOutage = tally.acknowledged.withLockedValue { $0.count }
        try await Task.sleep(for: .milliseconds(500))
        #expect(tally.acknowledged.withLockedValue { $0.count } == duringOutage, "nothing is acknowledged while the database is down")

        try await server.start()
        try await Task.sleep(for: .seconds(3))
        tally.stop.store(true, ordering: .relaxed)
        await writers.value
        let slowestCall = await fireAndForget.value

        let ids = tally.acknowledged.withLockedValue { $0 }
        #expect(tally.failures.withLockedValue { $0 }.isEmpty, "acknowledged writers waited out the outage: \(tally.failures.withLockedValue { $0.prefix(3) })")
        #expect(ids.count > beforeOutage, "writes resumed after the restart")
        #expect(slowestCall < .seconds(1), "a fire-and-forget call never waits on the outage: \(slowestCall)")
        let afterStats = try await Self.stats(daemon.socketPath)
        #expect(afterStats["store_available"] == 1)
        #expect(afterStats["store_outages"] == 1)

        let stored = try await TestPostgres.psql(server.uri, "SELECT id FROM ledger_events WHERE event_type = 'job_processing_completed'")
        let storedIDs = stored.split(separator: "\n").compactMap { UUID(uuidString: String($0)) }
        #expect(Set(storedIDs).isSuperset(of: ids), "\(Set(ids).subtracting(storedIDs).count) acknowledged events are missing")
        #expect(Set(storedIDs).count == storedIDs.count)

        daemon.signal(SIGTERM)
        #expect(await daemon.waitForExit() == 0)
        try? FileManager.default.removeItem(atPath: directory)
    }

    /// SIGTERM while the database is down and the ingest queue is full: the connections waiting for
    /// room in the queue must not hold the daemon past its ten seconds of retrying.
    @Test(.enabled(if: TestPostgres.uri != nil || TestPostgres.isRequired))
    func aStopDuringAnOutageWithAFullQueueEndsOnceTheRetriesGiveUp() async throws {
        let server = try await TestPostgres.PrivateServer.start()
        let directory = try makeTemporaryDirectory()
        defer { try? FileManager.default.removeItem(atPath: directory) }
        let capacity: Int64 = 500
        let daemon = try await Daemon.start(in: directory, store: server.uri, extraArguments: ["--queue-capacity", "\(capacity)"])
        try await server.stop()

        // Fire-and-forget until the queue is full; the next frames then wait for room in it.
        let client = LedgerClient(configuration: LedgerClientConfiguration(socketPath: daemon.socketPath))
        var depth: Int64 = 0
        let filling = ContinuousClock.now
        while depth < capacity, ContinuousClock.now - filling < .seconds(60) {
            for _ in 0..<200 { client.logEvent(eventType: "clip_created", entityType: "clip", entityID: "held") }
            try await Task.sleep(for: .milliseconds(20))
            depth = try await Self.stats(daemon.socketPath)["queue_depth"] ?? 0
        }
        #expect(depth == capacity, "the queue filled: \(depth)")
        for _ in 0..<1_000 { client.logEvent(eventType: "clip_created", entityType: "clip", entityID: "waiting") }
        try await Task.sleep(for: .milliseconds(200))

        let stopping = ContinuousClock.now
        daemon.signal(SIGTERM)
        // Without a bound a daemon that never stops would hang the suite; a minute is six times the limit.
        let status = await withTaskGroup(of: Int32?.self) { group in
            group.addTask { await daemon.waitForExit() }
            group.addTask {
                try? await Task.sleep(for: .seconds(60))
                return nil
            }
            let first = await group.next() ?? nil
            if first == nil { daemon.signal(SIGKILL) }
            group.cancelAll()
            return first
        }
        let took = ContinuousClock.now - stopping
        await client.shutdown()
        #expect(status == 0, "ledgerd ended on SIGTERM within a minute: \(status.map(String.init) ?? "it had to be killed")")
        #expect(took >= .seconds(9), "it kept retrying for its ten seconds first: \(took)")
        #expect(daemon.stderr.contains("the store did not come back before shutdown"), "\(daemon.stderr.suffix(500))")
    }

    /// An idle daemon notices the database went away, and came back, without a write failing first.
    @Test(.enabled(if: TestPostgres.uri != nil || TestPostgres.isRequired))
    func anIdleDaemonsStatsFollowTheDatabase() async throws {
        let server = try await TestPostgres.PrivateServer.start()
        let directory = try makeTemporaryDirectory()
        defer { try? FileManager.default.removeItem(atPath: directory) }
        let daemon = try await Daemon.start(in: directory, store: server.uri, extraArguments: ["--store-check-interval", "1"])
        #expect(try await Self.stats(daemon.socketPath)["store_available"] == 1)
        try await server.stop()
        #expect(try await waitUntil(within: 60, every: .milliseconds(250)) { try await Self.stats(daemon.socketPath)["store_available"] == 0 }, "seen down with no write")
        try await server.start()
        #expect(try await waitUntil(within: 60, every: .milliseconds(250)) { try await Self.stats(daemon.socketPath)["store_available"] == 1 }, "and back")
        let total = try await runTool("ledger-rpc", ["query", "total", "--socket", daemon.socketPath])
        #expect(total.status == 0, "\(total.stderr)")
        daemon.signal(SIGTERM)
        #expect(await daemon.waitForExit() == 0)
    }

    /// What the concurrent writers saw, shared with the test body.
    final class Tally: Sendable {
        let acknowledged = NIOLockedValueBox<[UUID]>([])
        let failures = NIOLockedValueBox<[String]>([])
        let stop = Atomic<Bool>(false)
    }

    /// The daemon's counters, asked in-process: the fill and outage windows here are timed, and a
    /// tool started under the address sanitizer in a busy suite can take longer than the window.
    static func stats(_ socket: String) async throws -> [String: Int64] {
        let client = LedgerClient(configuration: LedgerClientConfiguration(socketPath: socket))
        do {
            let result = try await client.stats()
            await client.shutdown()
            return Dictionary(result.counters.map { ($0.name, $0.value) }) { $1 }
        } catch {
            await client.shutdown()
            throw error
        }
    }
}
