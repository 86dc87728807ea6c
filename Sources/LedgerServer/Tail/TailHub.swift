import Atomics
import LedgerProtocol
import NIOConcurrencyHelpers
import NIOCore

/// Hands committed events to live subscribers (`ledger-rpc tail`), in commit order.
///
/// Publishing never waits: each subscriber has a bounded buffer, and a subscriber
/// that reads too slowly has matching events counted as missed instead of
/// holding up the batch writer.
public final class TailHub: Sendable {
    private let subscriptions = NIOLockedValueBox<[ObjectIdentifier: TailSubscription]>([:])
    /// Events buffered per subscriber before it starts missing them.
    let capacity: Int
    /// Bytes of events buffered per subscriber before it starts missing them, whatever their number.
    let byteCapacity: Int
    /// Matching events subscribers missed because they read too slowly, over the daemon's life.
    let missed = ManagedAtomic<Int64>(0)

    public init(capacity: Int = 10_000, byteCapacity: Int = 2 << 20) {
        self.capacity = capacity
        self.byteCapacity = byteCapacity
    }

    var subscriberCount: Int {
        self.subscriptions.withLockedValue { $0.count }
    }

    func subscribe(_ filter: EventFilter) -> TailSubscription {
        let subscription = TailSubscription(filter: filter, capacity: self.capacity, byteCapacity: self.byteCapacity)
        self.subscriptions.withLockedValue { $0[ObjectIdentifier(subscription)] = subscription }
        return subscription
    }

    func unsubscribe(_ subscription: TailSubscription) {
        subscription.close()
        _ = self.subscriptions.withLockedValue { $0.removeValue(forKey: ObjectIdentifier(subscription)) }
    }

    /// Called by the batch writer after each commit.
    /// Whether anyone is tailing; when no one is, the writer skips preparing what it would publish.
    var hasSubscribers: Bool {
        self.subscriptions.withLockedValue { !$0.isEmpty }
    }

    func publish(_ events: [LedgerEvent]) {
        let subscriptions = self.subscriptions.withLockedValue { Array($0.values) }
        var dropped: UInt64 = 0
        for subscription in subscriptions {
            dropped += subscription.offer(events)
        }
        if dropped > 0 { self.missed.wrappingIncrement(by: Int64(dropped), ordering: .relaxed) }
    }
}

/// One subscriber's bounded buffer of committed events.
final class TailSubscription: Sendable {
    private struct State {
        var buffer: CircularBuffer<LedgerEvent> = CircularBuffer()
        var bufferBytes = 0
        var missed: UInt64 = 0
        var closed = false
        var waiter: CheckedContinuation<Void, Never>?
    }

    let filter: EventFilter
    private let capacity: Int
    private let byteCapacity: Int
    private let state = NIOLockedValueBox(State())

    /// Most events per `tail` frame, so one frame stays well under a megabyte or so of typical events.
    static let batchLimit = 500

    init(filter: EventFilter, capacity: Int, byteCapacity: Int) {
        self.filter = filter
        self.capacity = capacity
        self.byteCapacity = byteCapacity
    }

    /// Buffers the matching events it has room for. - Returns: how many it had to drop.
    func offer(_ events: [LedgerEvent]) -> UInt64 {
        let matching = events.filter(self.filter.matches)
        guard !matching.isEmpty else { return 0 }
        let (waiter, dropped) = self.state.withLockedValue { state -> (CheckedContinuation<Void, Never>?, UInt64) in
            guard !state.closed else { return (nil, 0) }
            var kept = 0
            for event in matching {
                let bytes = event.heldBytes
                // Once one is missed the rest of this commit is too, so the subscriber never sees a later event before an earlier one.
                guard state.buffer.count < self.capacity, state.bufferBytes + bytes <= self.byteCapacity || state.buffer.isEmpty else { break }
                state.buffer.append(event)
                state.bufferBytes += bytes
                kept += 1
            }
            let dropped = UInt64(matching.count - kept)
            state.missed += dropped
            defer { state.waiter = nil }
            return (state.waiter, dropped)
        }
        waiter?.resume()
        return dropped
    }

    func close() {
        let waiter = self.state.withLockedValue { state -> CheckedContinuation<Void, Never>? in
            state.closed = true
            defer { state.waiter = nil }
            return state.waiter
        }
        waiter?.resume()
    }

    /// The next events (and how many were missed before them), or nil once closed and drained.
    func next() async -> TailBatch? {
        while true {
            let batch: TailBatch?? = self.state.withLockedValue { state in
                if !state.buffer.isEmpty || state.missed > 0 {
                    let count = min(Self.batchLimit, state.buffer.count)
                    let batch = TailBatch(missed: state.missed, events: Array(state.buffer.prefix(count)))
                    state.buffer.removeFirst(count)
                    state.bufferBytes = state.buffer.isEmpty ? 0 : state.bufferBytes - batch.events.reduce(0) { $0 + $1.heldBytes }
                    state.missed = 0
                    return .some(batch)
                }
                return state.closed ? .some(nil) : .none
            }
            if let batch { return batch }
            await withTaskCancellationHandler {
                await withCheckedContinuation { (continuation: CheckedContinuation<Void, Never>) in
                    let resumeNow = self.state.withLockedValue { state -> Bool in
                        if state.closed || !state.buffer.isEmpty || state.missed > 0 { return true }
                        state.waiter = continuation
                        return false
                    }
                    if resumeNow { continuation.resume() }
                }
            } onCancel: {
                self.close()
            }
        }
    }
}
