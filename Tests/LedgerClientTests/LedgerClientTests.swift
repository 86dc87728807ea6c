import Foundation
import LedgerClient
import LedgerProtocol
import LedgerTestSupport
import Testing

@Suite struct LedgerClientTests {
    @Test func logsEachKindOfEventWithTheSeedsFields() async throws {
        let directory = try TemporaryDirectory("client")
        let server = try await Daemon.start(in: directory.path)
        let client = LedgerClient(socketPath: server.socketPath)
        let jobID = UUID()
        let clipID = UUID()
        let uploaded = client.logEvent(eventType: "video_uploaded", entityType: "video_asset", entityID: "v-1", metadata: #"{"size": 10}"#)
        let failed = client.logJobEvent(
            jobID: jobID, eventType: "job_processing_failed", metadata: #"{"error": "codec"}"#, severity: .error, workerID: "worker-1")
        let clip = client.logClipEvent(clipID: clipID, eventType: "clip_created", jobID: jobID)
        #expect(await client.flush(timeout: .seconds(30)))

        let timeline = try await client.events(forJob: jobID)
        #expect(Set(timeline.map(\.id)) == [failed, clip])
        let failure = try #require(timeline.first { $0.id == failed })
        #expect(failure.entityType == "job" && failure.entityID == jobID.uuidString.lowercased())
        #expect(failure.severity == .error && failure.workerID == "worker-1")
        let clipEvent = try #require(timeline.first { $0.id == clip })
        #expect(clipEvent.entityType == "clip" && clipEvent.clipID == clipID)
        #expect(try await client.timeline(entityType: "video_asset", entityID: "v-1").map(\.id) == [uploaded])
        #expect(try await client.errorCount() == 1)
        #expect(try await client.totalCount() == 3)
        #expect(client.statistics.sent == 3 && client.statistics.dropped == 0)
        await client.shutdown()
        await server.stop()
    }

    @Test func withoutADaemonCallsReturnAndDropsAreCounted() async throws {
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent("ledger-none-\(UUID().uuidString.prefix(8))").path
        let client = LedgerClient(socketPath: "\(directory)/ledgerd.sock")
        let calls = 20_000
        let started = ContinuousClock.now
        for index in 0..<calls {
            client.logEvent(eventType: "video_uploaded", entityType: "video_asset", entityID: "v-\(index)")
        }
        let elapsed = ContinuousClock.now - started
        // A generous bound that a connect, a wait or a sleep per call would still break.
        #expect(elapsed < .seconds(10), "20,000 calls took \(elapsed)")
        #expect(await client.flush(timeout: .seconds(5)) == false)
        let statistics = client.statistics
        #expect(statistics.sent == 0)
        #expect(statistics.droppedUnreachable == calls)
        #expect(statistics.connectionAttempts < 50, "connects follow the back-off, not the calls: \(statistics.connectionAttempts)")
        await #expect(throws: LedgerClientError.self) {
            try await client.logAcknowledged(LedgerClient.makeEvent(eventType: "t", entityType: "e", entityID: "1"))
        }
        await #expect(throws: LedgerClientError.self) { try await client.totalCount() }
        await client.shutdown()
    }

    @Test func reconnectsAfterTheDaemonRestartsAndLaterEventsArrive() async throws {
        let directory = try TemporaryDirectory("client")
        let first = try await Daemon.start(in: directory.path, store: "sqlite:\(directory.path)/first.sqlite")
        var configuration = LedgerClientConfiguration(socketPath: first.socketPath)
        configuration.maximumBackoff = .milliseconds(200)
        // A starved machine (a sanitizer, the suite in parallel) must not turn a slow daemon into a lost one.
        configuration.connectTimeout = .seconds(30)
        configuration.requestTimeout = .seconds(60)
        let client = LedgerClient(configuration: configuration)
        let before = (0..<100).map { client.logEvent(eventType: "job_created", entityType: "job", entityID: "before-\($0)") }
        #expect(await client.flush(timeout: .seconds(60)), "\(client.statistics)")
        await first.stop()

        for index in 0..<100 {
            client.logEvent(eventType: "job_created", entityType: "job", entityID: "while-down-\(index)")
        }
        #expect(await client.flush(timeout: .seconds(5)) == false)

        let second = try await Daemon.start(in: directory.path, store: "sqlite:\(directory.path)/second.sqlite")
        var reconnected = false
        for _ in 0..<200 where !reconnected {
            try await Task.sleep(for: .milliseconds(50))
            reconnected = (try? await client.ping()) != nil
        }
        #expect(reconnected)
        let after = (0..<100).map { client.logEvent(eventType: "job_created", entityType: "job", entityID: "after-\($0)") }
        #expect(await client.flush(timeout: .seconds(60)), "\(client.statistics)")
        let stored = try await client.query(QueryRequest(filter: EventFilter(eventType: "job_created"), limit: 1_000)).events
        #expect(Set(stored.map(\.id)) == Set(after))
        await second.stop()
        let restarted = try await Daemon.start(in: directory.path, store: "sqlite:\(directory.path)/first.sqlite")
        #expect(try await client.count() == UInt64(before.count), "the first daemon's store holds what was flushed before it stopped")
        // Events logged while the daemon was away were either dropped and counted or written to
        // the closing socket before the client noticed; every call is accounted for either way.
        let statistics = client.statistics
        #expect(statistics.sent + statistics.dropped == 300, "\(statistics)")
        await client.shutdown()
        await restarted.stop()
    }

    @Test func aRefusedEventIsCountedAndFailsTheFlush() async throws {
        let directory = try TemporaryDirectory("client")
        let server = try await Daemon.start(in: directory.path)
        let client = LedgerClient(socketPath: server.socketPath)
        client.logEvent(eventType: "video_uploaded", entityType: "video_asset", entityID: "v", metadata: "[1, 2]")
        client.logEvent(eventType: "video_uploaded", entityType: "video_asset", entityID: "v", metadata: "{}")
        #expect(await client.flush(timeout: .seconds(30)) == false)
        #expect(client.statistics.rejected == 1)
        #expect(try await client.count(EventFilter(eventType: "video_uploaded")) == 1)
        #expect(await client.flush(timeout: .seconds(30)), "a flush with nothing lost since the last one succeeds")
        await client.shutdown()
        await server.stop()
    }

    @Test func anAcknowledgedEventIsStoredOnceWhenRetried() async throws {
        let directory = try TemporaryDirectory("client")
        let server = try await Daemon.start(in: directory.path)
        let client = LedgerClient(socketPath: server.socketPath)
        let event = LedgerClient.makeEvent(eventType: "job_processing_completed", entityType: "job", entityID: "j")
        try await client.logAcknowledged(event)
        try await client.logAcknowledged(event)
        #expect(try await client.count() == 1)
        let invalid = LedgerClient.makeEvent(eventType: "", entityType: "job", entityID: "j")
        await #expect(throws: LedgerClientError.self) { try await client.logAcknowledged(invalid) }
        await client.shutdown()
        await server.stop()
    }
}
