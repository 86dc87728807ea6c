import Foundation
import LedgerProtocol
import LedgerTestSupport
import LedgerTree
import Synchronization
import Testing

@testable import LedgerServer

@Suite struct IngestQueueTests {
    static func events(_ count: Int) -> [LedgerEvent] {
        (0..<count).map { LedgerEvent(id: UUID(), eventType: "t", entityType: "e", entityID: "\($0)") }
    }

    @Test func takesEverythingQueuedAsOneBatch() async throws {
        let queue = IngestQueue(capacity: 100)
        for _ in 0..<3 { try await queue.submit(Self.events(2), completion: nil) }
        let batch = try #require(await queue.nextBatch(maximumEvents: 100, delay: .zero))
        #expect(batch.count == 3)
        #expect(queue.depth == 0)
    }

    /// With a tree, each event is queued with its leaf hashed up to its sequence, in step with the
    /// events and counted in the queue's bytes; without one, nothing is hashed.
    @Test func aQueueForATreeHashesEachLeafAndCountsItsBytes() async throws {
        let events = Self.events(3).map { event in
            var event = event
            event.metadata = "{ \"b\": 1, \"a\": [true] }"
            event.timestamp = LedgerTimestamp(rawValue: 1_790_000_000_000_000)
            return event
        }
        let hashing = IngestQueue(capacity: 100, hashesLeaves: true)
        let plain = IngestQueue(capacity: 100)
        try await hashing.submit(events, completion: nil)
        try await plain.submit(events, completion: nil)
        #expect(hashing.depthBytes == plain.depthBytes + 3 * LeafPrefix.heldBytes)
        let entry = try #require(await hashing.nextBatch(maximumEvents: 100, delay: .zero)?.first)
        #expect(entry.leaves.count == 3)
        for (index, (event, leaf)) in zip(events, entry.leaves).enumerated() {
            // The leaf of the event as stored: its metadata canonical, as the queue made it.
            #expect(leaf.hash(sequence: Int64(index) + 7) == TreeLeaf.hash(event, sequence: Int64(index) + 7))
        }
        #expect(try #require(await plain.nextBatch(maximumEvents: 100, delay: .zero)?.first).leaves.isEmpty)
    }

    @Test func capsABatchAtWholeEntries() async throws {
        let queue = IngestQueue(capacity: 100)
        for _ in 0..<3 { try await queue.submit(Self.events(5), completion: nil) }
        let first = try #require(await queue.nextBatch(maximumEvents: 10, delay: .zero))
        #expect(first.map(\.events.count) == [5, 5])
        let second = try #require(await queue.nextBatch(maximumEvents: 10, delay: .zero))
        #expect(second.map(\.events.count) == [5])
    }

    @Test func aFullBatchDoesNotWaitForTheDelay() async throws {
        let queue = IngestQueue(capacity: 100)
        try await queue.submit(Self.events(10), completion: nil)
        // With an hour's delay this only returns because the batch is already full.
        let batch = try #require(await queue.nextBatch(maximumEvents: 10, delay: .seconds(3600)))
        #expect(batch.count == 1)
    }

    /// The clock never moves: only the batch filling can end the delay. Its timer goes with it.
    @Test func aBatchFillingDuringTheDelayIsTakenAtOnce() async throws {
        let clock = ManualClock()
        let queue = IngestQueue(capacity: 100, clock: clock)
        try await queue.submit(Self.events(4), completion: nil)
        async let batch = queue.nextBatch(maximumEvents: 10, delay: .seconds(3600))
        #expect(await eventually { queue.consumerIsWaiting && clock.sleepers == 1 })
        try await queue.submit(Self.events(6), completion: nil)
        let taken = try #require(await batch)
        #expect(taken.flatMap(\.events).count == 10)
        #expect(clock.sleepers == 0, "the delay's timer ends with its batch")
    }

    @Test func commitsAPartialBatchWhenTheDelayPasses() async throws {
        let clock = ManualClock()
        let queue = IngestQueue(capacity: 100, clock: clock)
        try await queue.submit(Self.events(3), completion: nil)
        async let batch = queue.nextBatch(maximumEvents: 1000, delay: .milliseconds(5))
        #expect(await eventually { queue.consumerIsWaiting && clock.sleepers == 1 })
        clock.advance(by: .milliseconds(4))
        #expect(queue.consumerIsWaiting, "the delay has not passed yet")
        clock.advance(by: .milliseconds(1))
        let taken = try #require(await batch)
        #expect(taken.flatMap(\.events).count == 3)
    }

    @Test func aFullQueueSuspendsTheProducerUntilTheWriterTakesABatch() async throws {
        let queue = IngestQueue(capacity: 10)
        try await queue.submit(Self.events(10), completion: nil)
        let admitted = Atomic<Bool>(false)
        let producer = Task {
            try await queue.submit(Self.events(1), completion: nil)
            admitted.store(true, ordering: .sequentiallyConsistent)
        }
        #expect(await eventually { queue.waitingProducers == 1 })
        let admittedEarly = admitted.load(ordering: .sequentiallyConsistent)
        #expect(!admittedEarly, "the queue is full, so the producer must wait")
        #expect(queue.depth == 10)
        _ = await queue.nextBatch(maximumEvents: 10, delay: .zero)
        try await producer.value
        let admittedLater = admitted.load(ordering: .sequentiallyConsistent)
        #expect(admittedLater)
        #expect(queue.depth == 1)
    }

    /// A producer that finds the queue full and a writer that empties it at that moment must not
    /// miss each other: the producer would wait for a wake-up that never comes, and its
    /// connection would stop reading for good.
    @Test func producersRacingTheWriterOnAFullQueueAreAllAdmitted() async throws {
        let capacity = 8
        let producers = 4
        let entriesEach = 10_000
        let queue = IngestQueue(capacity: capacity)
        let writer = Task {
            var events = 0
            var deepest = 0
            while let batch = await queue.nextBatch(maximumEvents: capacity, delay: .zero) {
                deepest = max(deepest, queue.depth)
                events += batch.flatMap(\.events).count
            }
            return (events, deepest)
        }
        // Closing after ten minutes turns a stuck producer into a failure instead of a hang; a
        // sanitized run of the whole suite on two busy cores took more than five for the 40,000 submissions.
        let watchdog = Task {
            try await Task.sleep(for: .seconds(600))
            queue.close()
        }
        defer { watchdog.cancel() }
        try await withThrowingTaskGroup(of: Void.self) { group in
            for _ in 0..<producers {
                group.addTask {
                    for entry in 0..<entriesEach { try await queue.submit(Self.events(1 + entry % 3), completion: nil) }
                }
            }
            try await group.waitForAll()
        }
        queue.close()
        let (events, deepest) = await writer.value
        let expected = producers * (0..<entriesEach).reduce(0) { $0 + 1 + $1 % 3 }
        #expect(events == expected)
        #expect(deepest <= capacity, "producers were admitted past the queue's capacity")
    }

    @Test func closeRefusesNewEventsButDrainsQueuedOnes() async throws {
        let queue = IngestQueue(capacity: 5)
        try await queue.submit(Self.events(5), completion: nil)
        let waiting = Task { try await queue.submit(Self.events(1), completion: nil) }
        #expect(await eventually { queue.waitingProducers == 1 })
        queue.close()
        let error = await #expect(throws: LedgerProtocolError.self) { try await waiting.value }
        #expect(error?.code == .shuttingDown)
        await #expect(throws: LedgerProtocolError.self) { try await queue.submit(Self.events(1), completion: nil) }
        let drained = try #require(await queue.nextBatch(maximumEvents: 100, delay: .milliseconds(1)))
        #expect(drained.flatMap(\.events).count == 5)
        #expect(await queue.nextBatch(maximumEvents: 100, delay: .zero) == nil)
    }

    static func largeEvents(_ count: Int, metadataBytes: Int) -> [LedgerEvent] {
        let metadata = "{\"blob\":\"" + String(repeating: "x", count: metadataBytes - 11) + "\"}"
        return (0..<count).map { LedgerEvent(id: UUID(), eventType: "t", entityType: "e", entityID: "\($0)", metadata: metadata) }
    }

    @Test func largeEventsFillTheQueueByTheirBytesNotTheirNumber() async throws {
        let queue = IngestQueue(capacity: 1_000, byteCapacity: 200_000)
        // Each request is ten 16 KiB events, about 165 KB: one fits, a second would pass the bound.
        try await queue.submit(Self.largeEvents(10, metadataBytes: 16_384), completion: nil)
        let waiting = Task { try await queue.submit(Self.largeEvents(10, metadataBytes: 16_384), completion: nil) }
        #expect(await eventually { queue.waitingProducers == 1 })
        #expect(queue.depth == 10, "the second request waits although there is room for 990 more events")
        #expect(queue.depthBytes <= 200_000)
        _ = try #require(await queue.nextBatch(maximumEvents: 100, delay: .zero))
        try await waiting.value
        #expect(queue.depth == 10)
        _ = try #require(await queue.nextBatch(maximumEvents: 100, delay: .zero))
        #expect(queue.depthBytes == 0)
    }

    @Test func aRequestLargerThanTheWholeQueueIsLetInAlone() async throws {
        let queue = IngestQueue(capacity: 1_000, byteCapacity: 10_000)
        try await queue.submit(Self.largeEvents(2, metadataBytes: 16_384), completion: nil)
        #expect(queue.depth == 2)
    }
}
