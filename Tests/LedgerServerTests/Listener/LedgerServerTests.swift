import Foundation
import LedgerProtocol
import LedgerServer
import LedgerServerTestSupport
import LedgerTestSupport
import NIOConcurrencyHelpers
import NIOCore
import NIOPosix
import Testing

@Suite struct LedgerServerTests {
    @Test func gracefulShutdownCommitsEverythingReceived() async throws {
        let server = try await TestServer.start { $0.commitDelay = .milliseconds(50) }
        let client = try RawSocket(path: server.socketPath)
        var wire = ByteBuffer()
        for index in 0..<2_000 {
            let event = LedgerEvent(id: UUID(), eventType: "job_created", entityType: "job", entityID: "j-\(index)")
            LedgerRequest.logEvent(LogEvent(event: event)).encode(requestID: 0, into: &wire)
        }
        client.send(Array(wire.readableBytesView))
        while server.stats.eventsReceived.load(ordering: .relaxed) < 2_000 {
            try await Task.sleep(for: .milliseconds(5))
        }
        try await server.stop()
        #expect(try await server.store.count(EventFilter()) == 2_000)
        #expect(!FileManager.default.fileExists(atPath: server.socketPath), "the socket file is removed on shutdown")
        try await server.stopAndRemove()
    }

    /// A connection accepted just as shutdown begins must still be served and closed: one left
    /// inside the listener would crash the daemon instead of letting it stop.
    @Test func connectionsArrivingDuringShutdownAreClosedAndTheServerStops() async throws {
        let server = try await TestServer.start()
        let stopping = NIOLockedValueBox(false)
        let connected = try await withThrowingTaskGroup(of: Int.self) { group in
            for _ in 0..<4 {
                group.addTask {
                    // Non-blocking connects on the event loops, so no cooperative thread waits on a full backlog.
                    let bootstrap = ClientBootstrap(group: MultiThreadedEventLoopGroup.singleton).connectTimeout(.seconds(5))
                    var connected = 0
                    var open: [any Channel] = []
                    while !stopping.withLockedValue({ $0 }) {
                        if let channel = try? await bootstrap.connect(unixDomainSocketPath: server.socketPath).get() {
                            connected += 1
                            open.append(channel)
                            if open.count > 20 { try? await open.removeFirst().close() }
                        }
                    }
                    for channel in open { try? await channel.close() }
                    return connected
                }
            }
            try await Task.sleep(for: .milliseconds(300))
            try await server.stop()
            stopping.withLockedValue { $0 = true }
            return try await group.reduce(0, +)
        }
        #expect(connected > 0)
        #expect(!FileManager.default.fileExists(atPath: server.socketPath), "the server stopped and removed its socket")
        try await server.stopAndRemove()
    }

    @Test func acksArriveInRequestOrderWithTheirRequestIDs() async throws {
        let server = try await TestServer.start()
        let client = try RawSocket(path: server.socketPath)
        var wire = ByteBuffer()
        for requestID in UInt32(1)...50 {
            let event = LedgerEvent(id: UUID(), eventType: "clip_created", entityType: "clip", entityID: "c-\(requestID)")
            LedgerRequest.logEvent(LogEvent(event: event, acknowledged: true)).encode(requestID: requestID, into: &wire)
        }
        LedgerRequest.sync.encode(requestID: 51, into: &wire)
        client.send(Array(wire.readableBytesView))
        for requestID in UInt32(1)...50 {
            let answer = try #require(try await client.receive())
            #expect(answer.requestID == requestID)
            #expect(answer.response == .ack(Ack(committed: 1)))
        }
        #expect(try await client.receive()?.response == .ack(Ack(committed: 0)))
        #expect(try await server.store.count(EventFilter()) == 50)
        try await server.stopAndRemove()
    }

    @Test func fillsInTheTimestampAndIDWhenTheClientLeavesThemOut() async throws {
        let server = try await TestServer.start()
        let client = try RawSocket(path: server.socketPath)
        let event = LedgerEvent(id: LedgerEvent.unassignedID, eventType: "video_uploaded", entityType: "video_asset", entityID: "v", metadata: "")
        #expect(try await client.request(.logEvent(LogEvent(event: event, acknowledged: true))) == .ack(Ack(committed: 1)))
        let stored = try #require(try await server.store.query(QueryRequest(limit: 1)).events.first)
        #expect(stored.id != LedgerEvent.unassignedID)
        #expect(stored.id.uuidString.lowercased().dropFirst(14).first == "7")
        #expect(stored.metadata == "{}")
        let age = Date().timeIntervalSince1970 - Double(stored.timestamp!.rawValue) / 1_000_000
        #expect(age >= 0 && age < 60)
        try await server.stopAndRemove()
    }

    @Test func answersQueriesCountsAndStats() async throws {
        let server = try await TestServer.start()
        let client = try RawSocket(path: server.socketPath)
        let jobID = UUID()
        let events = (0..<5).map { (index: Int) -> LedgerEvent in
            let failed = index == 4
            return LedgerEvent(
                id: UUID(), timestamp: LedgerTimestamp(rawValue: 1_000_000 * Int64(index + 1)),
                eventType: failed ? "job_processing_failed" : "job_processing_started", entityType: "job",
                entityID: jobID.uuidString.lowercased(), severity: failed ? .error : .info, jobID: jobID)
        }
        #expect(try await client.request(.logBatch(LogBatch(events: events, acknowledged: true))) == .ack(Ack(committed: 5)))
        let answer = try await client.request(.query(QueryRequest(filter: EventFilter(jobID: jobID), order: .oldestFirst, limit: 3)), requestID: 2)
        guard case .events(let page) = answer else {
            Issue.record("expected events, got \(String(describing: answer))")
            return
        }
        #expect(page.events.map(\.id) == events.prefix(3).map(\.id))
        #expect(page.next != nil)
        #expect(try await client.request(.count(CountRequest(filter: EventFilter(severity: .error))), requestID: 3) == .count(CountResult(count: 1)))
        guard case .stats(let stats) = try await client.request(.stats, requestID: 4) else {
            Issue.record("expected stats")
            return
        }
        #expect(stats[counter: "events_committed"] == 5)
        #expect(stats[counter: "connections_current"] == 1)
        #expect(stats[fact: "store"]?.hasPrefix("sqlite:") == true)
        // The store's own counters follow the daemon's: one commit, synced before its ack.
        #expect(stats[counter: "sqlite_commits"] == 1)
        #expect(stats[counter: "sqlite_log_syncs"] == 1)
        try await server.stopAndRemove()
    }

    @Test func refusesToStartWhenAnotherDaemonAnswersOnTheSocket() async throws {
        let first = try await TestServer.start()
        await #expect(throws: (any Error).self) {
            let second = try await TestServer.start { $0.socketPath = first.socketPath }
            try await second.stopAndRemove()
        }
        let client = try RawSocket(path: first.socketPath)
        #expect(try await client.request(.ping) == .pong(Pong(server: "ledgerd/0.1.0")))
        try await first.stopAndRemove()
    }

    @Test func replacesAStaleSocketFile() async throws {
        let first = try await TestServer.start()
        let path = first.socketPath
        try await first.stop()
        // What a killed daemon leaves behind: a socket file nobody listens on.
        let descriptor = socket(AF_UNIX, Int32(SOCK_STREAM.rawValue), 0)
        var address = sockaddr_un()
        address.sun_family = sa_family_t(AF_UNIX)
        withUnsafeMutableBytes(of: &address.sun_path) { raw in
            raw.copyBytes(from: Array(path.utf8) + [0])
        }
        _ = withUnsafePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { bind(descriptor, $0, socklen_t(MemoryLayout<sockaddr_un>.size)) }
        }
        close(descriptor)
        #expect(FileManager.default.fileExists(atPath: path))
        let second = try await TestServer.start { $0.socketPath = path }
        let client = try RawSocket(path: path)
        #expect(try await client.request(.ping) == .pong(Pong(server: "ledgerd/0.1.0")))
        try await second.stopAndRemove()
        await first.store.close()
    }

    @Test func createsTheSocketWithRestrictivePermissions() async throws {
        let server = try await TestServer.start()
        let attributes = try FileManager.default.attributesOfItem(atPath: server.socketPath)
        #expect((attributes[.posixPermissions] as? Int) == 0o660)
        try await server.stopAndRemove()
    }
}
