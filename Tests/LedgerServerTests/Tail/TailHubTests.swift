import Foundation
import LedgerProtocol
import Testing

@testable import LedgerServer

/// A tail's buffer is bounded in bytes as well as events: a subscriber that does not read large
/// events misses them, and is told how many, instead of making the daemon hold them.
@Suite struct TailHubTests {
    @Test func aSlowSubscriberMissesLargeEventsPastItsBytes() async throws {
        let hub = TailHub(capacity: 10_000, byteCapacity: 100_000)
        let subscription = hub.subscribe(EventFilter())
        let events = IngestQueueTests.largeEvents(20, metadataBytes: 16_384)
        hub.publish(events)
        let batch = try #require(await subscription.next())
        // Six events of about 16.6 KB fit in 100,000 bytes; the other fourteen are missed, and counted.
        #expect(batch.events.map(\.id) == events.prefix(6).map(\.id))
        #expect(batch.missed == 14)
        #expect(hub.missed.load(ordering: .relaxed) == 14)
        // Read, the buffer has room again.
        hub.publish(Array(events.prefix(2)))
        #expect(try #require(await subscription.next()).events.count == 2)
        hub.unsubscribe(subscription)
    }

    @Test func oneEventLargerThanTheWholeBufferStillReachesAnEmptyTail() async throws {
        let hub = TailHub(capacity: 10, byteCapacity: 1_000)
        let subscription = hub.subscribe(EventFilter())
        hub.publish(IngestQueueTests.largeEvents(1, metadataBytes: 16_384))
        #expect(try #require(await subscription.next()).events.count == 1)
        hub.unsubscribe(subscription)
    }
}
