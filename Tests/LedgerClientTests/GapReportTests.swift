import Foundation
import LedgerClient
import LedgerProtocol
import LedgerTestSupport
import Testing

/// What a client drops it reports when it can, and the daemon keeps the reports as gap records.
@Suite struct GapReportTests {
    struct Gap {
        var event: LedgerEvent
        var reason: String
        var events: Int
        var first: LedgerTimestamp
        var last: LedgerTimestamp

        init(_ event: LedgerEvent) throws {
            let metadata = try #require(try JSONSerialization.jsonObject(with: Data(event.metadata.utf8)) as? [String: Any])
            self.event = event
            self.reason = try #require(metadata["reason"] as? String)
            self.events = try #require(metadata["events"] as? Int)
            let first = try #require(metadata["first_dropped_at"] as? String)
            let last = try #require(metadata["last_dropped_at"] as? String)
            self.first = try #require(LedgerTimestamp(iso8601: first))
            self.last = try #require(LedgerTimestamp(iso8601: last))
        }
    }

    /// The gap records the daemon stored, read by a client of its own.
    static func gaps(in daemon: Daemon) async throws -> [Gap] {
        let result = try await LedgerClient(socketPath: daemon.socketPath).executeThenShutdown {
            try await $0.query(QueryRequest(filter: EventFilter(eventType: ReportGap.eventType), limit: 1_000))
        }
        return try result.events.map(Gap.init)
    }

    static func count(_ filter: EventFilter, in daemon: Daemon) async throws -> UInt64 {
        try await LedgerClient(socketPath: daemon.socketPath).executeThenShutdown { try await $0.count(filter) }
    }

    static func stats(of daemon: Daemon) async throws -> StatsResult {
        try await LedgerClient(socketPath: daemon.socketPath).executeThenShutdown { try await $0.stats() }
    }

    static func waitUntil(_ condition: () -> Bool) async throws {
        for _ in 0..<600 where !condition() {
            try await Task.sleep(for: .milliseconds(50))
        }
    }

    static func now() -> LedgerTimestamp {
        LedgerTimestamp(rawValue: Int64(Date().timeIntervalSince1970 * 1_000_000))
    }

    @Test func dropsWhileTheDaemonIsDownAreReportedWhenItReturns() async throws {
        let directory = try makeTemporaryDirectory("gap")
        defer { try? FileManager.default.removeItem(atPath: directory) }
        var configuration = LedgerClientConfiguration(socketPath: "\(directory)/ledgerd.sock")
        configuration.clientName = "upload-service"
        configuration.maximumBackoff = .milliseconds(200)
        let client = LedgerClient(configuration: configuration)

        let before = Self.now()
        for index in 0..<500 {
            client.logEvent(eventType: "video_uploaded", entityType: "video_asset", entityID: "v-\(index)")
        }
        // Events logged while the first connection attempt is still under way wait for its outcome.
        try await Self.waitUntil { client.statistics.droppedUnreachable == 500 }
        let after = Self.now()
        #expect(client.statistics.droppedUnreachable == 500)
        #expect(client.statistics.dropsUnreported == 500)

        // Nothing more is logged: a client with drops to report reconnects by itself.
        let server = try await Daemon.start(in: directory)
        try await Self.waitUntil { client.statistics.gapReportsStored == 1 }
        #expect(client.statistics.gapReportsStored == 1)
        #expect(client.statistics.dropsUnreported == 0)

        let gaps = try await Self.gaps(in: server)
        #expect(gaps.count == 1)
        let gap = try #require(gaps.first)
        #expect(gap.event.entityType == "ledger_client" && gap.event.entityID == "upload-service")
        #expect(gap.event.severity == .warn)
        #expect(gap.reason == "daemon_unreachable")
        #expect(gap.events == 500)
        #expect(before <= gap.first && gap.first <= gap.last && gap.last <= after, "\(before) \(gap.first) \(gap.last) \(after)")
        #expect(gap.event.timestamp == gap.first)
        #expect(gap.event.peer?.uid == getuid(), "the kernel's word on the reporter is kept")
        let stats = try await Self.stats(of: server)
        #expect(stats[counter: "gap_reports"] == 1)
        #expect(stats[counter: "events_dropped_by_clients"] == 500)
        await client.shutdown()
        await server.stop()
    }

    @Test func aFullBufferAndRefusalsAreReportedByTheNextFlush() async throws {
        let directory = try TemporaryDirectory("gap")
        let server = try await Daemon.start(in: directory.path)
        var configuration = LedgerClientConfiguration(socketPath: server.socketPath)
        configuration.clientName = "job-service"
        configuration.bufferLimitBytes = 2_048
        // Long enough that only a flush can have sent the reports.
        configuration.gapReportDelay = .seconds(600)
        // A loaded machine (a sanitizer, tests in parallel) must not turn a slow ack into a lost report.
        configuration.requestTimeout = .seconds(120)
        let client = LedgerClient(configuration: configuration)
        // A burst far larger than the buffer, faster than the event loop can hand it to the socket.
        for index in 0..<5_000 {
            client.logEvent(eventType: "job_created", entityType: "job", entityID: "j-\(index)")
        }
        #expect(await client.flush(timeout: .seconds(120)) == false, "a flush after drops says so")
        var statistics = client.statistics
        #expect(statistics.droppedBufferFull > 0, "the burst overflowed the buffer: \(statistics)")
        #expect(statistics.dropsUnreported == 0, "the flush waited for the gap report: \(statistics)")

        // Refusals arrive after the flush that sent them began, so the next flush reports them.
        client.logEvent(eventType: "job_created", entityType: "job", entityID: "bad", metadata: "[1]")
        client.logEvent(eventType: "job_created", entityType: "job", entityID: "bad", metadata: "nope")
        #expect(await client.flush(timeout: .seconds(120)) == false)
        #expect(client.statistics.rejected == 2)
        _ = await client.flush(timeout: .seconds(120))
        statistics = client.statistics
        #expect(statistics.dropsUnreported == 0, "\(statistics)")

        let gaps = try await Self.gaps(in: server)
        #expect(gaps.allSatisfy { $0.event.entityID == "job-service" })
        let reported = Dictionary(grouping: gaps, by: \.reason).mapValues { $0.reduce(0) { $0 + $1.events } }
        #expect(reported == ["buffer_full": statistics.droppedBufferFull, "rejected": 2])
        #expect(statistics.gapReportsStored == gaps.count)
        let stored = try await Self.count(EventFilter(eventType: "job_created"), in: server)
        #expect(Int(stored) + statistics.droppedBufferFull == 5_000, "every call is stored or in a gap record")
        await client.shutdown()
        await server.stop()
    }

    @Test func dropsWhileConnectedAreReportedWithoutAFlush() async throws {
        let directory = try TemporaryDirectory("gap")
        let server = try await Daemon.start(in: directory.path)
        var configuration = LedgerClientConfiguration(socketPath: server.socketPath)
        configuration.gapReportDelay = .milliseconds(20)
        let client = LedgerClient(configuration: configuration)
        client.logEvent(eventType: "job_created", entityType: "job", entityID: "bad", metadata: "[1]")
        try await Self.waitUntil { client.statistics.gapReportsStored == 1 }
        #expect(client.statistics.gapReportsStored == 1)
        let gaps = try await Self.gaps(in: server)
        #expect(gaps.map(\.reason) == ["rejected"])
        #expect(gaps.first?.event.entityID == ProcessInfo.processInfo.processName, "the process name by default")
        await client.shutdown()
        await server.stop()
    }

    @Test func onlyTheDaemonWritesGapRecords() async throws {
        let directory = try TemporaryDirectory("gap")
        let server = try await Daemon.start(in: directory.path)
        let client = LedgerClient(socketPath: server.socketPath)
        let forged = LedgerClient.makeEvent(
            eventType: ReportGap.eventType, entityType: ReportGap.entityType, entityID: "someone-else", metadata: #"{"events":0}"#)
        let error = await #expect(throws: LedgerClientError.self) { try await client.logAcknowledged(forged) }
        #expect(error?.serverError?.code == .invalidEvent)
        #expect(error?.serverError?.message.contains("reserved") == true)
        #expect(try await Self.count(EventFilter(), in: server) == 0)
        await client.shutdown()
        await server.stop()
    }
}
