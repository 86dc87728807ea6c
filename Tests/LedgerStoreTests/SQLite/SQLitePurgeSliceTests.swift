import Foundation
import LedgerProtocol
import LedgerTestSupport
import Testing

@testable import LedgerStore

/// SQLite has one writer, so a commit that arrives while a retention slice holds it waits for the
/// slice: the slice ends early, after the row it is removing, whenever a commit is waiting.
@Suite struct SQLitePurgeSliceTests {
    @Test func aSliceStopsAfterOneRowWhenACommitIsWaiting() async throws {
        let database = try await TestStore.make(.sqlite)
        let store = try #require(try await database.open() as? SQLiteStore)
        let events = ExpiryTests.events()
        _ = try await store.append(events)
        let selection = try await ExpiryTests.infoSelection(store)
        let expected = ExpiryTests.expected("INFO=30d", in: events)
        let writer = store.writer

        // The slice holds the writer until the commit below is queued behind it, then starts.
        async let slice = writer.run { (state: SQLiteWriterState) throws(StoreError) -> (sawCommit: Bool, progress: ExpiryProgress) in
            let deadline = ContinuousClock.now + .seconds(30)
            while !writer.othersWaiting, ContinuousClock.now < deadline { usleep(1_000) }
            let saw = writer.othersWaiting
            return (saw, try state.expire(selection, after: nil, limit: 1_000, until: { _ in writer.othersWaiting }))
        }
        try await Task.sleep(for: .milliseconds(50))
        let late = LedgerEvent(id: UUID(), eventType: "job_created", entityType: "job", entityID: "late")
        #expect(try await store.append([late]) == 1)
        let (sawCommit, progress) = try await slice
        #expect(sawCommit, "the commit was queued behind the slice")
        #expect(progress.removed == 1, "the slice let the commit in after one row")
        #expect(!writer.othersWaiting)

        // Nothing is skipped or removed twice when slices end early: the rest follows from the cursor.
        let oldest = try #require(events.filter { expected.contains($0.id) }.min { ($0.timestamp!, $0.id.uuidString) < ($1.timestamp!, $1.id.uuidString) })
        #expect(progress.last == EventCursor(timestamp: oldest.timestamp!, id: oldest.id))
        var cursor = progress.last
        var removed = progress.removed
        while true {
            let after = cursor
            let next = try await writer.run { (state: SQLiteWriterState) throws(StoreError) -> ExpiryProgress in
                try state.expire(selection, after: after, limit: 1_000, until: { _ in true })
            }
            guard let last = next.last else { break }
            #expect(next.removed == 1)
            removed += next.removed
            cursor = last
        }
        #expect(removed == expected.count)
        #expect(try await ExpiryTests.allIDs(store) == Set(events.map(\.id)).subtracting(expected).union([late.id]))
        await store.close()
        withExtendedLifetime(database) {}
    }
}
