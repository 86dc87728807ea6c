import Foundation
import LedgerProtocol
import LedgerTestSupport
import Testing

@testable import LedgerStore

/// A query has a time budget on both stores: a scan past it is stopped and reported as such, and
/// the store goes on answering.
@Suite struct StoreReadLimitsTests {
    @Test(arguments: StoreKind.durable)
    func aQueryPastItsBudgetIsStoppedAndTheStoreGoesOn(kind: StoreKind) async throws {
        if kind == .postgres, TestPostgres.uri == nil, !TestPostgres.isRequired { return }
        let database = try await TestStore.make(kind)
        let filling = try await database.open()
        for chunk in 0..<10 {
            // Made on a thread of its own: 10,000 events are seconds of work in a sanitizer's build, and
            // on the cooperative pool they would hold up every other test meanwhile.
            let events = try await onThreadOfItsOwn {
                (0..<10_000).map { index in
                    LedgerEvent(
                        id: UUID(), timestamp: LedgerTimestamp(rawValue: 1_700_000_000_000_000 + Int64(chunk * 10_000 + index)),
                        eventType: "clip_created", entityType: "clip", entityID: "c-\(index)", workerID: "w-\(index % 7)")
                }
            }
            _ = try await filling.append(events)
        }
        await filling.close()

        // A millisecond is far less than a scan of 100,000 rows takes, however fast the machine.
        let location = try StoreLocation(parsing: database.location)
        let store = try await location.open(limits: StoreReadLimits(readers: 2, queryTimeout: .milliseconds(1)), logger: .init(label: "test"))
        let error = await #expect(throws: StoreError.self) { try await store.count(EventFilter(workerID: "w-3")) }
        #expect(error?.code == .timedOut, "\(String(describing: error))")
        #expect(error?.message.contains("--query-timeout") == true)
        if kind == .sqlite {
            // An index lookup ends long before the budget is looked at.
            #expect(try await store.count(EventFilter(jobID: UUID())) == 0, "the reader answers again")
        }
        await store.close()

        let unlimited = try await location.open(limits: StoreReadLimits(readers: 2, queryTimeout: nil), logger: .init(label: "test"))
        #expect(try await unlimited.count(EventFilter(workerID: "w-3")) > 0)
        await unlimited.close()
        withExtendedLifetime(database) {}
    }
}
