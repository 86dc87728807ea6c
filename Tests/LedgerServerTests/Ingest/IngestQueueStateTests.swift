import Foundation
import LedgerProtocol
import Testing

@testable import LedgerServer

/// The queue's decisions with no tasks: who waits, who is admitted, who is woken, and when.
@Suite struct IngestQueueStateTests {
    typealias State = IngestQueueState<Int, String>

    static func entry(_ count: Int) -> IngestQueue.Entry {
        let events = (0..<count).map { LedgerEvent(id: UUID(), eventType: "t", entityType: "e", entityID: "\($0)") }
        return IngestQueue.Entry(events: events, completion: nil, bytes: events.reduce(0) { $0 + $1.heldBytes })
    }

    @Test func aFullQueueParksProducersInOrderAndATakenBatchAdmitsThem() throws {
        var state = State(capacity: 10, byteCapacity: 1 << 30)
        #expect(try state.offer(Self.entry(8)).waitID == nil)
        let first = try #require(try state.offer(Self.entry(3)).waitID)
        #expect(state.park(first, count: 3, bytes: 0, producer: 1, cancelled: false).admitted.isEmpty)
        // Room for the second producer's one event, but it waits behind the first: order is kept.
        let second = try #require(try state.offer(Self.entry(1)).waitID)
        #expect(state.park(second, count: 1, bytes: 0, producer: 2, cancelled: false).admitted.isEmpty)
        let (batch, admitted) = state.takeBatch(maximumEvents: 100)
        #expect(batch?.count == 1)
        #expect(admitted == [1, 2])
        // Their room is reserved until they append, so a newcomer cannot take it meanwhile.
        #expect(try state.offer(Self.entry(7)).waitID != nil)
        _ = try state.admitted(Self.entry(3))
        _ = try state.admitted(Self.entry(1))
        #expect(state.eventCount == 4)
    }

    @Test func aProducerParkingAfterTheWriterEmptiedTheQueueIsAdmittedAtOnce() throws {
        var state = State(capacity: 4, byteCapacity: 1 << 30)
        _ = try state.offer(Self.entry(4))
        let id = try #require(try state.offer(Self.entry(2)).waitID)
        // The writer takes the batch between the producer's offer and its parking.
        #expect(state.takeBatch(maximumEvents: 10).admitted.isEmpty)
        #expect(state.park(id, count: 2, bytes: 0, producer: 9, cancelled: false).admitted == [9])
    }

    @Test func aCancelledProducerLeavesAndTheOneBehindMayFit() throws {
        var state = State(capacity: 10, byteCapacity: 1 << 30)
        _ = try state.offer(Self.entry(8))
        let large = try #require(try state.offer(Self.entry(5)).waitID)
        _ = state.park(large, count: 5, bytes: 0, producer: 1, cancelled: false)
        let small = try #require(try state.offer(Self.entry(2)).waitID)
        _ = state.park(small, count: 2, bytes: 0, producer: 2, cancelled: false)
        let wakeups = state.cancel(large)
        #expect(wakeups.refused.map(\.0) == [1] && wakeups.refused.allSatisfy { $0.1 is CancellationError })
        #expect(wakeups.admitted == [2])
        #expect(state.cancel(large).refused.isEmpty, "a second cancel finds nothing")
    }

    @Test func closeRefusesEveryWaitingProducerAndWakesTheWriterToDrain() throws {
        var state = State(capacity: 1, byteCapacity: 1 << 30)
        _ = try state.offer(Self.entry(1))
        for producer in 1...3 {
            let id = try #require(try state.offer(Self.entry(1)).waitID)
            _ = state.park(id, count: 1, bytes: 0, producer: producer, cancelled: false)
        }
        // The writer is waiting for a full batch in its delay.
        #expect(state.wait("writer", fullBatch: 100, cycle: state.beginDelay(maximumEvents: 100).cycle) == nil)
        let wakeups = state.close()
        #expect(wakeups.refused.map(\.0) == [1, 2, 3])
        #expect(wakeups.refused.allSatisfy { ($0.1 as? LedgerProtocolError)?.code == .shuttingDown })
        #expect(wakeups.consumer == "writer")
        #expect(throws: LedgerProtocolError.self) { try state.offer(Self.entry(1)) }
        #expect(state.takeBatch(maximumEvents: 10).batch?.count == 1, "what was queued is still drained")
        #expect(state.takeBatch(maximumEvents: 10).batch == nil)
    }

    @Test func inItsDelayTheWriterIsWokenOnlyByAFullBatch() throws {
        var state = State(capacity: 100, byteCapacity: 1 << 30)
        #expect(state.wait("writer", fullBatch: nil, cycle: nil) == nil, "nothing queued: it waits")
        #expect(try state.offer(Self.entry(2)).wake == "writer", "the first event wakes it")
        let (cycle, full) = state.beginDelay(maximumEvents: 5)
        #expect(!full)
        #expect(state.wait("writer", fullBatch: 5, cycle: cycle) == nil)
        #expect(try state.offer(Self.entry(2)).wake == nil, "4 of 5: not yet")
        #expect(try state.offer(Self.entry(1)).wake == "writer", "5 of 5")
    }

    /// A timer from an earlier batch's delay must not cut a later batch's delay short.
    @Test func aTimerLeftFromAnEarlierDelayIsIgnored() throws {
        var state = State(capacity: 100, byteCapacity: 1 << 30)
        _ = try state.offer(Self.entry(1))
        let earlier = state.beginDelay(maximumEvents: 5).cycle
        _ = state.takeBatch(maximumEvents: 5)
        _ = try state.offer(Self.entry(1))
        let later = state.beginDelay(maximumEvents: 5).cycle
        #expect(state.wait("writer", fullBatch: 5, cycle: later) == nil)
        #expect(state.delayExpired(cycle: earlier) == nil)
        #expect(state.delayExpired(cycle: later) == "writer")
        // An expiry that came before the writer waited still ends that delay.
        let next = state.beginDelay(maximumEvents: 5).cycle
        #expect(state.delayExpired(cycle: next) == nil)
        #expect(state.wait("writer", fullBatch: 5, cycle: next) == "writer")
    }

    @Test func aRequestLargerThanTheQueueIsLetInAloneButOnlyAlone() throws {
        var state = State(capacity: 10, byteCapacity: 1 << 30)
        #expect(try state.offer(Self.entry(50)).waitID == nil)
        #expect(try state.offer(Self.entry(1)).waitID != nil)
    }
}
