import Foundation
import LedgerProtocol
import LedgerStore
import LedgerTestSupport
import Testing

/// Retention's removals on every store: exactly the events a rule selects, in slices, with reads
/// that run across a purge neither skipping nor repeating what remains.
@Suite struct ExpiryTests {
    static let day: Int64 = 86_400_000_000
    /// A fixed "now", so that ages do not depend on the clock.
    static let now = LedgerTimestamp(rawValue: 1_800_000_000_000_000)
    static let policy = try! RetentionPolicy(parsing: "INFO=30d,WARN=60d,video_uploaded=90d,ERROR=forever")

    /// 240 events spread over 120 days before `now`, of every severity, five types (a gap record and
    /// a removal record among them), with pairs sharing a timestamp so the (timestamp, id) order matters.
    static func events() -> [LedgerEvent] {
        let types = ["video_uploaded", "job_created", "clip_created", ReportGap.eventType, RetentionPolicy.recordEventType]
        return (0..<240).map { (index: Int) -> LedgerEvent in
            let age = Int64(index / 2) * Self.day + 3_600_000_000
            let severity: Severity = index % 7 == 3 ? .error : (index % 3 == 1 ? .warn : .info)
            return LedgerEvent(
                id: UUID.ledgerV7(unixMilliseconds: 5_000 + UInt64((239 - index))),
                timestamp: LedgerTimestamp(rawValue: Self.now.rawValue - age), eventType: types[index % types.count],
                entityType: "video_asset", entityID: "v-\(index % 11)", metadata: "{\"index\":\(index)}", severity: severity)
        }
    }

    /// What each rule should take, written out apart from the stores' own selection.
    static func expected(_ rule: String, in events: [LedgerEvent]) -> Set<UUID> {
        func older(_ event: LedgerEvent, days: Int64) -> Bool { event.timestamp!.rawValue < Self.now.rawValue - days * Self.day }
        let named: Set<String> = ["video_uploaded", RetentionPolicy.recordEventType]
        let chosen = events.filter { event in
            switch rule {
            case "INFO=30d": event.severity == .info && !named.contains(event.eventType) && older(event, days: 30)
            case "WARN=60d": event.severity == .warn && !named.contains(event.eventType) && older(event, days: 60)
            case "video_uploaded=90d": event.eventType == "video_uploaded" && older(event, days: 90)
            default: false
            }
        }
        return Set(chosen.map(\.id))
    }

    static func allIDs(_ store: any EventStore) async throws -> Set<UUID> {
        var ids: Set<UUID> = []
        var cursor: EventCursor?
        repeat {
            let page = try await store.query(QueryRequest(filter: EventFilter(), order: .oldestFirst, limit: 50, after: cursor))
            ids.formUnion(page.events.map(\.id))
            cursor = page.next
        } while cursor != nil
        return ids
    }

    /// The first rule's selection (INFO=30d) over what the store holds now.
    static func infoSelection(_ store: any EventStore) async throws -> ExpirySelection {
        try #require(ExpirySelection(rule: Self.policy.expiringRules[0], of: Self.policy, now: Self.now, throughSequence: try await store.latestSequence()))
    }

    /// Runs one rule's selection to the end in slices of `slice`; returns how many went.
    static func expire(_ selection: ExpirySelection, in store: any EventStore, slice: Int) async throws -> Int {
        var cursor: EventCursor?
        var removed = 0
        while true {
            let progress = try await store.expire(selection, after: cursor, limit: slice)
            removed += progress.removed
            // PostgreSQL says what each slice wrote to its log, which paces the purge.
            #expect((progress.logBytes != nil) == (store is PostgresStore))
            guard let last = progress.last else { return removed }
            #expect(progress.removed <= slice)
            cursor = last
        }
    }

    @Test(arguments: StoreKind.allCases)
    func eachRuleRemovesExactlyItsExpiredEventsAndNothingElse(kind: StoreKind) async throws {
        try await EventStoreTests.withStore(kind) { store in
            let events = Self.events()
            _ = try await store.append(events)
            var remaining = Set(events.map(\.id))
            for rule in Self.policy.expiringRules {
                let through = try await store.latestSequence()
                let selection = try #require(ExpirySelection(rule: rule, of: Self.policy, now: Self.now, throughSequence: through))
                let expected = Self.expected(rule.description, in: events)
                #expect(!expected.isEmpty, "the data set exercises \(rule)")
                let summary = try await store.expirySummary(selection)
                #expect(summary.events == UInt64(expected.count), "\(rule)")
                let times = events.filter { expected.contains($0.id) }.map { $0.timestamp! }
                #expect(summary.oldest == times.min() && summary.newest == times.max(), "\(rule)")
                let capped = try await store.expirySummary(selection, countingUpTo: 5)
                #expect(capped.events == min(UInt64(expected.count), 6), "an operator's count stops one past its cap")
                #expect(try await store.expirySummary(selection, countingUpTo: 10_000).events == UInt64(expected.count))

                #expect(try await Self.expire(selection, in: store, slice: 7) == expected.count, "\(rule)")
                remaining.subtract(expected)
                #expect(try await Self.allIDs(store) == remaining, "\(rule) removed exactly its own")
                #expect(try await store.expirySummary(selection).events == 0)
            }
            // ERROR is kept forever, the removal records unless named, and so is what is young enough.
            let kept = events.filter { remaining.contains($0.id) }
            #expect(kept.contains { $0.severity == .error && $0.timestamp!.rawValue < Self.now.rawValue - 100 * Self.day })
            #expect(kept.contains { $0.eventType == RetentionPolicy.recordEventType && $0.timestamp!.rawValue < Self.now.rawValue - 100 * Self.day })
            #expect(try await store.count(EventFilter()) == UInt64(remaining.count))
        }
    }

    /// A pass removes only what was committed before its record: an old event that arrives during
    /// the pass waits for the next one.
    @Test(arguments: StoreKind.allCases)
    func aPassLeavesEventsCommittedAfterItBegan(kind: StoreKind) async throws {
        try await EventStoreTests.withStore(kind) { store in
            let events = Self.events()
            _ = try await store.append(events)
            let selection = try await Self.infoSelection(store)
            var late = events[239]
            late.id = UUID.ledgerV7(unixMilliseconds: 9_000)
            late.eventType = "job_created"
            late.severity = .info
            _ = try await store.append([late])
            _ = try await Self.expire(selection, in: store, slice: 50)
            #expect(try await Self.allIDs(store).contains(late.id))
            #expect(try await Self.expire(try await Self.infoSelection(store), in: store, slice: 50) == 1)
            #expect(!(try await Self.allIDs(store).contains(late.id)))
        }
    }

    /// A listing paged oldest-first and a tail catching up by commit sequence, each with a purge
    /// between two of its pages: among the events that remain, none is skipped and none repeated.
    @Test(arguments: StoreKind.allCases)
    func pagesAndTailsRunAcrossAPurge(kind: StoreKind) async throws {
        try await EventStoreTests.withStore(kind) { store in
            let events = Self.events()
            _ = try await store.append(events)
            let expired = Self.expected(Self.policy.expiringRules[0].description, in: events)
            let selection = try await Self.infoSelection(store)

            var listed: [UUID] = []
            var page = try await store.query(QueryRequest(filter: EventFilter(), order: .oldestFirst, limit: 40))
            listed += page.events.map(\.id)
            var tailed: [LedgerEvent] = try await store.events(afterSequence: 0, matching: EventFilter(), limit: 40)
            _ = try await Self.expire(selection, in: store, slice: 9)
            while let next = page.next {
                page = try await store.query(QueryRequest(filter: EventFilter(), order: .oldestFirst, limit: 40, after: next))
                listed += page.events.map(\.id)
            }
            while true {
                let more = try await store.events(afterSequence: tailed.last?.sequence ?? 0, matching: EventFilter(), limit: 40)
                if more.isEmpty { break }
                tailed += more
            }
            let survivors = Set(events.map(\.id)).subtracting(expired)
            for (name, seen) in [("listing", listed), ("tail", tailed.map(\.id))] {
                #expect(seen.count == Set(seen).count, "\(name) repeated an event")
                #expect(survivors.isSubset(of: Set(seen)), "\(name) skipped \(survivors.subtracting(seen).count) events that remain")
            }
            let sequences = tailed.compactMap(\.sequence)
            #expect(sequences == sequences.sorted() && sequences.count == tailed.count)
        }
    }

    /// Dedupe reaches as far back as the first copy is kept: a retry is stored once while its first
    /// copy is stored, and stored anew once a rule has removed it (the memory store remembers ids a
    /// while longer, as it says).
    @Test(arguments: StoreKind.allCases)
    func aRetryIsStoredOnceForAsLongAsItsFirstCopyIsKept(kind: StoreKind) async throws {
        try await EventStoreTests.withStore(kind) { store in
            let events = Self.events()
            _ = try await store.append(events)
            let expired = try #require(events.first { Self.expected(Self.policy.expiringRules[0].description, in: events).contains($0.id) })
            let young = try #require(events.first { $0.severity == .info && $0.timestamp!.rawValue > Self.now.rawValue - Self.day })
            #expect(try await store.insert([expired, young]) == [nil, nil], "both are already stored")
            _ = try await Self.expire(try await Self.infoSelection(store), in: store, slice: 100)
            let again = try await store.insert([expired, young])
            if kind == .memory {
                #expect(again[0] == nil, "the memory store remembers ids past their events, as it documents")
            } else {
                #expect(again[0] != nil, "the removed event's id is free again")
            }
            #expect(again[1] == nil, "the kept one is still stored once")
        }
    }

    /// A new SQLite file is made for incremental vacuum: the pages a purge frees go back to the file
    /// system, and the file shrinks.
    @Test func aPurgedSQLiteFileShrinks() async throws {
        let database = try await TestStore.make(.sqlite)
        let store = try await database.open()
        let padding = String(repeating: "x", count: 2_000)
        let old = (0..<5_000).map { index in
            LedgerEvent(
                id: UUID.ledgerV7(unixMilliseconds: 1_000 + UInt64(index)), timestamp: LedgerTimestamp(rawValue: Self.now.rawValue - 40 * Self.day),
                eventType: "job_created", entityType: "job", entityID: "j-\(index)", metadata: "{\"pad\":\"\(padding)\"}")
        }
        _ = try await store.append(old)
        _ = try await store.append([LedgerEvent(id: UUID.ledgerV7(unixMilliseconds: 90_000), timestamp: Self.now, eventType: "job_created", entityType: "job", entityID: "young")])
        func pages() async throws -> Int { Int(try await database.shell("PRAGMA page_count")) ?? -1 }
        let path = String(database.location.dropFirst("sqlite:".count))
        func fileSize() throws -> Int { try #require(try FileManager.default.attributesOfItem(atPath: path)[.size] as? Int) }
        #expect(try await database.shell("PRAGMA auto_vacuum") == "2")
        _ = try await database.shell("PRAGMA wal_checkpoint(PASSIVE)")
        let fileBefore = try fileSize()
        let before = try await pages()
        #expect(try await Self.expire(try await Self.infoSelection(store), in: store, slice: 1_000) == old.count)
        var slices = 0
        while try await store.reclaimSpace() { slices += 1 }
        #expect(try await store.reclaimSpace() == false)
        let after = try await pages()
        #expect(after * 4 < before, "the file went from \(before) to \(after) pages")
        #expect(try await store.count(EventFilter()) == 1)

        // A checkpoint cuts the file itself to its new size, and the store goes on taking writes: its
        // own shrinking is not taken for a file truncated behind its back.
        _ = try await database.shell("PRAGMA wal_checkpoint(PASSIVE)")
        let fileAfter = try fileSize()
        #expect(fileAfter * 4 < fileBefore, "the checkpoint cut the file from \(fileBefore) to \(fileAfter) bytes")
        let later = LedgerEvent(id: UUID.ledgerV7(unixMilliseconds: 95_000), timestamp: Self.now, eventType: "job_created", entityType: "job", entityID: "later")
        #expect(try await store.append([later]) == 1)
        #expect(try await store.count(EventFilter()) == 2)
        await store.close()
    }
}
