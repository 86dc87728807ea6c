import Foundation
import LedgerProtocol
import LedgerStore
import Testing

@Suite struct MemoryStoreTests {
    static func event(_ index: Int) -> LedgerEvent {
        LedgerEvent(
            id: UUID(), timestamp: LedgerTimestamp(rawValue: 1_700_000_000_000_000 + Int64(index)), eventType: "clip_created",
            entityType: "clip", entityID: "c-\(index)")
    }

    @Test func forgetsTheOldestPastItsCapacityAndKeepsNumbering() async throws {
        let store = MemoryStore(capacity: 10)
        let events = (0..<25).map(Self.event)
        let sequences = try await store.insert(events)
        #expect(sequences == (1...25).map { Optional(Int64($0)) })
        #expect(try await store.count(EventFilter()) == 10)
        let kept = try await store.query(QueryRequest(order: .oldestFirst, limit: 100)).events
        #expect(kept.map(\.id) == events[15...].map(\.id))

        // A kept id is still a duplicate; a forgotten one is stored again, as new.
        #expect(try await store.insert([events[20], events[0]]) == [nil, 26])
        let tail = try await store.events(afterSequence: 20, matching: EventFilter(), limit: 100)
        #expect(tail.map(\.sequence) == [21, 22, 23, 24, 25, 26])
        let fromBeforeTheStart = try await store.events(afterSequence: 3, matching: EventFilter(), limit: 2)
        #expect(fromBeforeTheStart.map(\.sequence) == [17, 18])
        await store.close()
    }

    /// Ids are forgotten a generation at a time, never while their event is still kept.
    @Test func refusesEveryKeptIDWhateverItsAge() async throws {
        let store = MemoryStore(capacity: 10)
        let events = (0..<57).map(Self.event)
        for start in stride(from: 0, to: events.count, by: 3) {
            _ = try await store.insert(Array(events[start..<min(start + 3, events.count)]))
            let end = min(start + 3, events.count)
            let kept = Array(events[max(0, end - 10)..<end])
            #expect(try await store.insert(kept).allSatisfy { $0 == nil }, "after \(end) events")
        }
        #expect(try await store.count(EventFilter()) == 10)
        await store.close()
    }

    @Test(arguments: ["memory", "memory:1", "memory:5000000"])
    func parsesItsLocation(text: String) throws {
        let location = try StoreLocation(parsing: text)
        guard case .memory(let capacity) = location else {
            Issue.record("\(text) parsed as \(location)")
            return
        }
        #expect(capacity == (text == "memory" ? MemoryStore.defaultCapacity : Int(text.dropFirst(7))!))
    }

    @Test(arguments: ["memory:", "memory:0", "memory:-5", "memory:lots"])
    func refusesABadCapacity(text: String) throws {
        let error = #expect(throws: StoreError.self) { try StoreLocation(parsing: text) }
        #expect(error?.code == .invalidConfiguration)
        #expect(error?.message.contains("capacity") == true)
    }
}
