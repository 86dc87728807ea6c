import Foundation
import LedgerProtocol
import LedgerStore
import LedgerTestSupport
import Testing

/// The behaviour every store owes the daemon, run against SQLite, PostgreSQL and memory alike.
@Suite struct EventStoreTests {
    static let jobA = UUID(uuidString: "0a0a0a0a-0000-4000-8000-000000000001")!
    static let jobB = UUID(uuidString: "0b0b0b0b-0000-4000-8000-000000000002")!
    static let clip = UUID(uuidString: "0c0c0c0c-0000-4000-8000-000000000003")!

    /// 30 events over three types, two jobs, and severities, with distinct and with shared timestamps.
    static func sampleEvents() -> [LedgerEvent] {
        let types = ["job_created", "clip_created", "job_processing_failed"]
        return (0..<30).map { (index: Int) -> LedgerEvent in
            // Pairs share a timestamp, so ordering must fall back to the id.
            let micros: Int64 = 1_700_000_000_000_000 + Int64(index / 2) * 1_000 + 7
            let severity: Severity = index % 3 == 2 ? .error : (index % 5 == 1 ? .warn : .info)
            let jobID: UUID = index % 2 == 0 ? Self.jobA : Self.jobB
            return LedgerEvent(
                id: UUID.ledgerV7(unixMilliseconds: 1_000 + UInt64(index)),
                timestamp: LedgerTimestamp(rawValue: micros),
                eventType: types[index % 3],
                entityType: index % 3 == 1 ? "clip" : "job",
                entityID: "entity-\(index % 5)",
                metadata: "{\"index\":\(index),\"name\":\"é \\\"q\\\"\"}",
                severity: severity,
                workerID: index % 2 == 0 ? "worker-a" : nil,
                jobID: jobID,
                clipID: index == 4 ? Self.clip : nil,
                peer: index % 3 == 0 ? PeerCredentials(uid: 1_000 + UInt32(index), pid: 40_000 + Int32(index)) : nil
            )
        }
    }

    /// Stores may re-serialise metadata (PostgreSQL's jsonb does); what must survive is the JSON value.
    static func sameEvent(_ stored: LedgerEvent, _ sent: LedgerEvent) throws -> Bool {
        var storedWithoutMetadata = stored
        var sentWithoutMetadata = sent
        storedWithoutMetadata.metadata = ""
        sentWithoutMetadata.metadata = ""
        storedWithoutMetadata.sequence = nil
        let storedJSON = try JSONSerialization.jsonObject(with: Data(stored.metadata.utf8)) as? NSDictionary
        let sentJSON = try JSONSerialization.jsonObject(with: Data(sent.metadata.utf8)) as? NSDictionary
        return storedWithoutMetadata == sentWithoutMetadata && storedJSON == sentJSON
    }

    /// Runs `body` on a freshly migrated store that lives (file or database included) until it returns.
    static func withStore(_ kind: StoreKind, _ body: (any EventStore) async throws -> Void) async throws {
        let database = try await TestStore.make(kind)
        let store = try await database.open()
        do {
            try await body(store)
        } catch {
            await store.close()
            throw error
        }
        await store.close()
        withExtendedLifetime(database) {}
    }

    @Test(arguments: StoreKind.allCases)
    func appendsQueriesAndCounts(kind: StoreKind) async throws {
        try await Self.withStore(kind) { (store: any EventStore) async throws in
            let events = Self.sampleEvents()
            #expect(try await store.append(events) == 30)

            let recent = try await store.query(QueryRequest(limit: 5))
            #expect(recent.events.count == 5)
            #expect(recent.events.first?.timestamp == events.last?.timestamp)
            #expect(recent.next != nil)

            let all = try await store.query(QueryRequest(limit: 100)).events
            for event in events {
                let stored = try #require(all.first { $0.id == event.id })
                #expect(try Self.sameEvent(stored, event), "\(stored) != \(event)")
            }

            #expect(try await store.count(EventFilter()) == 30)
            #expect(try await store.count(EventFilter(severity: .error)) == 10)
            #expect(try await store.count(EventFilter(jobID: Self.jobA)) == 15)
            #expect(try await store.count(EventFilter(clipID: Self.clip)) == 1)
            #expect(try await store.count(EventFilter(entityType: "job", entityID: "entity-0")) == 4)
            #expect(try await store.count(EventFilter(workerID: "worker-a", since: events[10].timestamp)) == 10)
            #expect(try await store.count(EventFilter(until: events[10].timestamp)) == 10)
            #expect(try await store.count(EventFilter(eventType: "clip_created", severity: .error)) == 0)
        }
    }

    @Test(arguments: StoreKind.allCases)
    func storesARetriedEventOnce(kind: StoreKind) async throws {
        try await Self.withStore(kind) { (store: any EventStore) async throws in
            let events = Self.sampleEvents()
            #expect(try await store.append(Array(events[0..<10])) == 10)
            #expect(try await store.append(Array(events[5..<15])) == 5)
            #expect(try await store.append(Array(events[5..<15])) == 0)
            #expect(try await store.count(EventFilter()) == 15)
        }
    }

    @Test(arguments: StoreKind.allCases)
    func storesAnIDSentTwiceInOneBatchOnce(kind: StoreKind) async throws {
        try await Self.withStore(kind) { (store: any EventStore) async throws in
            let events = Self.sampleEvents()
            let sequences = try await store.insert(Array(events[0..<10]) + [events[3]] + Array(events[10..<20]))
            #expect(sequences.count == 21)
            #expect(sequences[3] != nil && sequences[10] == nil, "the first is stored, the second a duplicate")
            #expect(sequences.compactMap { $0 }.count == 20)
            #expect(try await store.count(EventFilter()) == 20)
        }
    }

    /// The group-commit path: several requests in one call are stored exactly as their events joined would be.
    @Test(arguments: StoreKind.allCases)
    func storesSeveralRequestsAsTheirEventsInOrder(kind: StoreKind) async throws {
        try await Self.withStore(kind) { (store: any EventStore) async throws in
            let events = Self.sampleEvents()
            #expect(try await store.append(Array(events[0..<3])) == 3)
            let requests = [Array(events[3..<8]), [], [events[1], events[8]], Array(events[8..<12])]
            let sequences = try await store.insert(requests: requests)
            #expect(sequences.count == 11)
            #expect(sequences[5] == nil && sequences[7] == nil, "stored before, and sent twice in one call")
            let assigned = sequences.compactMap { $0 }
            #expect(assigned.count == 9 && assigned == assigned.sorted())
            let stored = try await store.events(afterSequence: 0, matching: EventFilter(), limit: 100)
            #expect(stored.map(\.id) == events[0..<12].map(\.id))
        }
    }

    /// Values at the edges of each column's range come back as they went in, whichever way the store encodes them.
    @Test(arguments: StoreKind.allCases)
    func keepsValuesAtTheEdgesOfTheirRanges(kind: StoreKind) async throws {
        try await Self.withStore(kind) { (store: any EventStore) async throws in
            let events = [
                LedgerEvent(
                    id: UUID(uuid: (0, 0, 0, 0, 0, 0, 0x70, 0, 0x80, 0, 0, 0, 0, 0, 0, 1)), timestamp: LedgerTimestamp(rawValue: 1),
                    eventType: String(repeating: "t", count: LedgerEvent.Limits.eventType), entityType: "e", entityID: "1",
                    metadata: "{}", severity: .warn,
                    peer: PeerCredentials(uid: .max, pid: .max)),
                LedgerEvent(
                    id: UUID(uuid: (255, 255, 255, 255, 255, 255, 0x7F, 255, 0xBF, 255, 255, 255, 255, 255, 255, 255)),
                    timestamp: LedgerTimestamp(rawValue: 4_102_444_800_000_000 - 1), eventType: "e",
                    entityType: String(repeating: "é", count: LedgerEvent.Limits.entityType / 2), entityID: String(repeating: "x", count: LedgerEvent.Limits.entityID),
                    metadata: #"{"tab":"\t","ctl":"\u0001","quote":"\"","emoji":"🎬"}"#, severity: .error,
                    workerID: String(repeating: "w", count: LedgerEvent.Limits.workerID),
                    jobID: Self.jobA, clipID: Self.clip, peer: PeerCredentials(uid: 0, pid: 1)),
            ]
            #expect(try await store.append(events) == 2)
            let stored = try await store.query(QueryRequest(order: .oldestFirst, limit: 10)).events
            #expect(stored.count == 2)
            for (stored, sent) in zip(stored, events) {
                #expect(try Self.sameEvent(stored, sent), "\(stored) != \(sent)")
            }
        }
    }

    @Test(arguments: StoreKind.allCases, [QueryRequest.Order.newestFirst, .oldestFirst])
    func pagesWithCursorsWithoutSkippingOrRepeating(kind: StoreKind, order: QueryRequest.Order) async throws {
        try await Self.withStore(kind) { (store: any EventStore) async throws in
            let events = Self.sampleEvents()
            _ = try await store.append(events)
            for filter in [
                EventFilter(), EventFilter(jobID: Self.jobA), EventFilter(eventType: "clip_created"),
                EventFilter(severity: .error, since: events[3].timestamp),
            ] {
                let all = try await store.query(QueryRequest(filter: filter, order: order, limit: 1000)).events
                var paged: [LedgerEvent] = []
                var cursor: EventCursor?
                repeat {
                    let page = try await store.query(QueryRequest(filter: filter, order: order, limit: 3, after: cursor))
                    paged += page.events
                    cursor = page.next
                } while cursor != nil
                #expect(!all.isEmpty)
                #expect(paged.map(\.id) == all.map(\.id))
                #expect(Set(paged.map(\.id)).count == paged.count)
                let keys = all.map { ($0.timestamp!.rawValue, $0.id.uuidString.lowercased()) }
                let sorted = keys.sorted { order == .newestFirst ? $0 > $1 : $0 < $1 }
                #expect(keys.map(\.1) == sorted.map(\.1))
            }
        }
    }

    /// Every combination of the filter's fields, both orders: paging with cursors returns exactly
    /// what one unpaged query returns, which is exactly the events the filter matches in memory.
    @Test(arguments: StoreKind.allCases)
    func pagingNeitherSkipsNorRepeatsUnderEveryFilterCombination(kind: StoreKind) async throws {
        try await Self.withStore(kind) { (store: any EventStore) async throws in
            let events = Self.sampleEvents()
            _ = try await store.append(events)
            let parts: [(inout EventFilter) -> Void] = [
                { $0.eventType = "job_processing_failed" },
                { $0.entityType = "job"; $0.entityID = "entity-2" },
                { $0.jobID = Self.jobA },
                { $0.clipID = Self.clip },
                { $0.severities = [.warn, .error] },
                { $0.workerID = "worker-a" },
                { $0.since = events[6].timestamp },
                { $0.until = events[24].timestamp },
            ]
            for mask in 0..<(1 << parts.count) {
                var filter = EventFilter()
                for (bit, part) in parts.enumerated() where mask & (1 << bit) != 0 { part(&filter) }
                for order in [QueryRequest.Order.newestFirst, .oldestFirst] {
                    var expected = events.filter(filter.matches)
                        .sorted { ($0.timestamp!.rawValue, $0.id.uuidString.lowercased()) < ($1.timestamp!.rawValue, $1.id.uuidString.lowercased()) }
                    if order == .newestFirst { expected.reverse() }
                    var paged: [UUID] = []
                    var cursor: EventCursor?
                    repeat {
                        let page = try await store.query(QueryRequest(filter: filter, order: order, limit: 4, after: cursor))
                        paged += page.events.map(\.id)
                        cursor = page.next
                    } while cursor != nil
                    #expect(paged == expected.map(\.id), "filter mask \(mask), \(order)")
                    #expect(try await store.count(filter) == UInt64(expected.count), "count, filter mask \(mask)")
                }
            }
        }
    }

    /// Every non-empty set of severities, alone and with a time window: the store's IN list and
    /// equality admit exactly what the filter admits in memory.
    @Test(arguments: StoreKind.allCases)
    func everySeveritySetSelectsItsMembers(kind: StoreKind) async throws {
        try await Self.withStore(kind) { (store: any EventStore) async throws in
            let events = Self.sampleEvents()
            _ = try await store.append(events)
            #expect(Set(events.map(\.severity)) == Set(Severity.allCases), "the sample has every severity")
            for raw in UInt8(1)...SeveritySet.all.rawValue {
                let severities = SeveritySet(rawValue: raw)
                for window in [EventFilter(), EventFilter(since: events[4].timestamp, until: events[20].timestamp)] {
                    var filter = window
                    filter.severities = severities
                    let expected = events.filter { severities.contains($0.severity) && filter.matches($0) }
                    let stored = try await store.query(QueryRequest(filter: filter, order: .oldestFirst, limit: 100)).events
                    #expect(Set(stored.map(\.id)) == Set(expected.map(\.id)), "severities \(severities)")
                    #expect(stored.allSatisfy { severities.contains($0.severity) })
                    #expect(try await store.count(filter) == UInt64(expected.count))
                }
            }
        }
    }

    /// The commit sequence follows insertion order, not timestamps; a tail catches up by it.
    @Test(arguments: StoreKind.allCases)
    func numbersCommitsInOrderAndReadsThemBack(kind: StoreKind) async throws {
        try await Self.withStore(kind) { (store: any EventStore) async throws in
            let events = Self.sampleEvents().reversed().map { $0 }
            let first = try await store.insert(Array(events[0..<10]))
            let second = try await store.insert(Array(events[5..<30]))
            let assigned = first.compactMap { $0 } + second.compactMap { $0 }
            #expect(first.allSatisfy { $0 != nil })
            #expect(second.prefix(5).allSatisfy { $0 == nil }, "already-stored ids get no new number")
            #expect(assigned.count == 30 && assigned == assigned.sorted() && Set(assigned).count == 30)

            var caughtUp: [LedgerEvent] = []
            var after: Int64 = 0
            while true {
                let page = try await store.events(afterSequence: after, matching: EventFilter(), limit: 7)
                guard let last = page.last?.sequence else { break }
                caughtUp += page
                after = last
            }
            #expect(caughtUp.map(\.id) == events.map(\.id), "commit order, not timestamp order")
            let errors = try await store.events(afterSequence: assigned[9], matching: EventFilter(severity: .error), limit: 100)
            #expect(errors.map(\.id) == events[10...].filter { $0.severity == .error }.map(\.id))
        }
    }

    @Test(arguments: StoreKind.allCases)
    func aBatchLargerThanOneStatementIsOneTransaction(kind: StoreKind) async throws {
        try await Self.withStore(kind) { (store: any EventStore) async throws in
            let events = (0..<2_500).map { index in
                LedgerEvent(
                    id: UUID(), timestamp: LedgerTimestamp(rawValue: 1_700_000_000_000_000 + Int64(index)), eventType: "clip_created",
                    entityType: "clip", entityID: "c-\(index)")
            }
            #expect(try await store.append(events) == 2_500)
            #expect(try await store.count(EventFilter(eventType: "clip_created")) == 2_500)
        }
    }

    @Test(arguments: StoreKind.durable)
    func migrationsAreIdempotentAndRecorded(kind: StoreKind) async throws {
        let database = try await TestStore.make(kind)
        let first = try await database.open()
        _ = try await first.append([Self.sampleEvents()[0]])
        await first.close()
        let second = try await database.open()
        #expect(try await second.count(EventFilter()) == 1)
        await second.close()
        let versions = try MigrationCatalog.embedded(backend: kind.rawValue).migrations.map { String($0.version) }
        #expect(versions.count >= 4)
        #expect(try await database.shell("SELECT version FROM schema_migrations ORDER BY version") == versions.joined(separator: "\n"))
    }

    @Test(arguments: StoreKind.durable)
    func refusesADatabaseNewerThanThisBuild(kind: StoreKind) async throws {
        let database = try await TestStore.make(kind)
        await (try await database.open()).close()
        switch kind {
        case .sqlite: try await database.shell("INSERT INTO schema_migrations VALUES (999, 'future', 0)")
        case .postgres: try await database.shell("INSERT INTO schema_migrations (version, name) VALUES (999, 'future')")
        case .memory: Issue.record("a memory store has no migrations")
        }
        let error = await #expect(throws: StoreError.self) { try await database.open() }
        #expect(error?.code == .migrationFailed)
        #expect(error?.message.contains("999") == true)
    }

    @Test(arguments: StoreKind.allCases)
    func aClosedStoreSaysSo(kind: StoreKind) async throws {
        let database = try await TestStore.make(kind)
        let store = try await database.open()
        await store.close()
        let error = await #expect(throws: StoreError.self) { try await store.count(EventFilter()) }
        #expect(error?.code == .closed)
        withExtendedLifetime(database) {}
    }
}
