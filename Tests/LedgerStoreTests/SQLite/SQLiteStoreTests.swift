import Foundation
import LedgerProtocol
import LedgerStore
import Testing

@Suite struct SQLiteStoreTests {
    static let jobA = UUID(uuidString: "0a0a0a0a-0000-4000-8000-000000000001")!
    static let jobB = UUID(uuidString: "0b0b0b0b-0000-4000-8000-000000000002")!

    /// 30 events over three types, two jobs, and severities, with distinct and with shared timestamps.
    static func sampleEvents() -> [LedgerEvent] {
        let types = ["job_created", "clip_created", "job_processing_failed"]
        return (0..<30).map { (index: Int) -> LedgerEvent in
            // Pairs share a timestamp, so ordering must fall back to the id.
            let micros: Int64 = 1_700_000_000_000_000 + Int64(index / 2) * 1_000
            let severity: Severity = index % 3 == 2 ? .error : .info
            let jobID: UUID = index % 2 == 0 ? Self.jobA : Self.jobB
            return LedgerEvent(
                id: UUID.ledgerV7(unixMilliseconds: 1_000 + UInt64(index)),
                timestamp: LedgerTimestamp(rawValue: micros),
                eventType: types[index % 3],
                entityType: index % 3 == 1 ? "clip" : "job",
                entityID: "entity-\(index % 5)",
                metadata: "{\"index\":\(index)}",
                severity: severity,
                workerID: index % 2 == 0 ? "worker-a" : nil,
                jobID: jobID,
                clipID: nil
            )
        }
    }

    @Test func appendsQueriesAndCounts() async throws {
        let directory = TemporaryDirectory()
        let store = try await SQLiteStore(path: directory.file("ledger.sqlite"))
        let events = Self.sampleEvents()
        #expect(try await store.append(events) == 30)

        let recent = try await store.query(QueryRequest(limit: 5))
        #expect(recent.events.count == 5)
        #expect(recent.events.first?.timestamp == events.last?.timestamp)
        #expect(recent.next != nil)

        let stored = try #require(try await store.query(QueryRequest(filter: EventFilter(eventType: "job_created"), limit: 100)).events.first { $0.id == events[0].id })
        #expect(stored == events[0])

        #expect(try await store.count(EventFilter()) == 30)
        #expect(try await store.count(EventFilter(severity: .error)) == 10)
        #expect(try await store.count(EventFilter(jobID: Self.jobA)) == 15)
        #expect(try await store.count(EventFilter(entityType: "job", entityID: "entity-0")) == 4)
        #expect(try await store.count(EventFilter(workerID: "worker-a", since: events[10].timestamp)) == 10)
        #expect(try await store.count(EventFilter(until: events[10].timestamp)) == 10)
        await store.close()
    }

    @Test func storesARetriedEventOnce() async throws {
        let directory = TemporaryDirectory()
        let store = try await SQLiteStore(path: directory.file("ledger.sqlite"))
        let events = Self.sampleEvents()
        #expect(try await store.append(Array(events[0..<10])) == 10)
        #expect(try await store.append(Array(events[5..<15])) == 5)
        #expect(try await store.count(EventFilter()) == 15)
        await store.close()
    }

    @Test(arguments: [QueryRequest.Order.newestFirst, .oldestFirst])
    func pagesWithCursorsWithoutSkippingOrRepeating(order: QueryRequest.Order) async throws {
        let directory = TemporaryDirectory()
        let store = try await SQLiteStore(path: directory.file("ledger.sqlite"))
        let events = Self.sampleEvents()
        _ = try await store.append(events)
        for filter in [EventFilter(), EventFilter(jobID: Self.jobA), EventFilter(eventType: "clip_created"), EventFilter(severity: .error, since: events[3].timestamp)] {
            let all = try await store.query(QueryRequest(filter: filter, order: order, limit: 1000)).events
            var paged: [LedgerEvent] = []
            var cursor: EventCursor?
            repeat {
                let page = try await store.query(QueryRequest(filter: filter, order: order, limit: 3, after: cursor))
                paged += page.events
                cursor = page.next
            } while cursor != nil
            #expect(paged.map(\.id) == all.map(\.id))
            #expect(Set(paged.map(\.id)).count == paged.count)
            let keys = all.map { ($0.timestamp!.rawValue, $0.id.uuidString.lowercased()) }
            let sorted = keys.sorted { order == .newestFirst ? $0 > $1 : $0 < $1 }
            #expect(keys.map(\.1) == sorted.map(\.1))
        }
        await store.close()
    }

    @Test func migrationsAreIdempotentAndRecorded() async throws {
        let directory = TemporaryDirectory()
        let path = directory.file("ledger.sqlite")
        let first = try await SQLiteStore(path: path)
        _ = try await first.append([Self.sampleEvents()[0]])
        await first.close()
        let second = try await SQLiteStore(path: path)
        #expect(try await second.count(EventFilter()) == 1)
        await second.close()
        let versions = try sqlite(path, "SELECT version FROM schema_migrations")
        #expect(versions == "1")
        #expect(try sqlite(path, "PRAGMA journal_mode") == "wal")
    }

    @Test func refusesADatabaseNewerThanThisBuild() async throws {
        let directory = TemporaryDirectory()
        let path = directory.file("ledger.sqlite")
        await (try await SQLiteStore(path: path)).close()
        _ = try sqlite(path, "INSERT INTO schema_migrations VALUES (999, 'future', 0)")
        let error = await #expect(throws: StoreError.self) { try await SQLiteStore(path: path) }
        #expect(error?.code == .migrationFailed)
        #expect(error?.message.contains("999") == true)
    }

    @Test func reportsAnUnopenablePath() async throws {
        let directory = TemporaryDirectory()
        try "not a database".write(toFile: directory.file("plain"), atomically: true, encoding: .utf8)
        let error = await #expect(throws: StoreError.self) { try await SQLiteStore(path: directory.file("plain/ledger.sqlite")) }
        #expect(error?.message.contains("plain") == true)
    }

    @Test func badMigrationFileNameIsAnError() throws {
        let directory = TemporaryDirectory()
        try "SELECT 1;".write(toFile: directory.file("create.sql"), atomically: true, encoding: .utf8)
        let error = #expect(throws: StoreError.self) { try MigrationCatalog.load(directory: directory.path) }
        #expect(error?.message.contains("NNNN_description.sql") == true)
    }

    @Test func locatesShippedMigrationsFromAnyWorkingDirectory() throws {
        let previous = FileManager.default.currentDirectoryPath
        FileManager.default.changeCurrentDirectoryPath("/")
        defer { FileManager.default.changeCurrentDirectoryPath(previous) }
        let catalog = try MigrationCatalog.locate(backend: "sqlite", environment: [:])
        #expect(catalog.migrations.first?.version == 1)
    }

    @Test(arguments: ["sqlite:/tmp/x.sqlite", "sqlite:///tmp/x.sqlite", "/tmp/x.sqlite"])
    func parsesStoreLocations(text: String) throws {
        #expect(try StoreLocation(parsing: text) == .sqlite(path: "/tmp/x.sqlite"))
    }

    @Test(arguments: ["", "sqlite:", "mysql://host/db", "memory-please"])
    func refusesUnknownStoreLocations(text: String) {
        #expect(throws: StoreError.self) { try StoreLocation(parsing: text) }
    }
}

/// Runs the sqlite3 shell, the way an operator would inspect the file.
func sqlite(_ path: String, _ sql: String) throws -> String {
    let process = Process()
    process.executableURL = URL(fileURLWithPath: "/usr/bin/sqlite3")
    process.arguments = [path, sql]
    let pipe = Pipe()
    process.standardOutput = pipe
    try process.run()
    process.waitUntilExit()
    return String(decoding: pipe.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self).trimmingCharacters(in: .whitespacesAndNewlines)
}
