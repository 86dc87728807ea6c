import LedgerProtocol
import NIOConcurrencyHelpers
import NIOCore

/// The bounded queue between connections and the batch writer.
///
/// Producers suspend when it holds `capacity` events, which stops the
/// connection reading from its socket: the daemon pushes back instead of
/// growing. The writer takes whole entries, up to a batch size, waiting up to
/// `commitDelay` for a batch to fill (group commit).
public final class IngestQueue: Sendable {
    /// One request's worth of events and who to tell when they are durable.
    public struct Entry: Sendable {
        public var events: [LedgerEvent]
        /// Succeeded after commit, failed if the store rejected the batch; nil for fire-and-forget.
        public var completion: CommitTicket?
        /// What the events hold in memory, as `LedgerEvent.heldBytes` counts it.
        var bytes: Int
    }

    private struct Producer {
        var id: UInt64
        var count: Int
        var bytes: Int
        var continuation: CheckedContinuation<Void, any Error>
    }

    private struct State {
        var entries: CircularBuffer<Entry> = CircularBuffer()
        var eventCount = 0
        var byteCount = 0
        /// Events (and their bytes) of producers resumed with room for them that have not appended
        /// yet: counting them keeps a producer arriving meanwhile from taking the same room.
        var reserved = 0
        var reservedBytes = 0
        var producers: CircularBuffer<Producer> = CircularBuffer()
        var nextProducerID: UInt64 = 0
        var consumer: CheckedContinuation<Void, Never>?
        /// The consumer wants waking only when a full batch is ready (it is in its commit delay).
        var consumerWantsFullBatch = false
        var fullBatchSize = Int.max
        /// Counts commit delays, so a timer left over from an earlier batch cannot cut a later one short.
        var delayCycle = 0
        var expiredDelayCycle = -1
        var closed = false
        var shutdownBegan: ContinuousClock.Instant?
    }

    public let capacity: Int
    /// The queue's bound in bytes, so that large events cannot make `capacity` of them a lot of memory.
    public let byteCapacity: Int
    private let state: NIOLockedValueBox<State>

    /// - Parameters:
    ///   - capacity: most events queued.
    ///   - byteCapacity: most bytes of events queued; a single request larger than that is let in alone.
    public init(capacity: Int, byteCapacity: Int = 32 << 20) {
        self.capacity = capacity
        self.byteCapacity = byteCapacity
        self.state = NIOLockedValueBox(State())
    }

    /// When the daemon began to shut down: marked by the listener as it stops, or by `close()`.
    /// The writer gives up on an unavailable store a fixed time after it.
    public var shutdownBegan: ContinuousClock.Instant? {
        self.state.withLockedValue { $0.shutdownBegan }
    }

    /// Notes that shutdown has begun; producers may still queue events until `close()`.
    public func beginShutdown() {
        self.state.withLockedValue { state in
            if state.shutdownBegan == nil { state.shutdownBegan = .now }
        }
    }

    public var depth: Int {
        self.state.withLockedValue { $0.eventCount }
    }

    /// Bytes of the events queued, as `LedgerEvent.heldBytes` counts them.
    public var depthBytes: Int {
        self.state.withLockedValue { $0.byteCount }
    }

    /// Queues the events, suspending while the queue is full.
    ///
    /// - Throws: `LedgerProtocolError` with `SHUTTING_DOWN` once `close()` was called;
    ///   `CancellationError` when the task was cancelled while waiting for room.
    public func submit(_ events: [LedgerEvent], completion: CommitTicket?) async throws {
        let count = events.count
        let bytes = events.reduce(0) { $0 + $1.heldBytes }
        // The id this producer waits under, or nil when the events went straight in.
        let waiting: UInt64? = try self.state.withLockedValue { state in
            if state.closed { throw Self.shuttingDown }
            guard state.producers.isEmpty, self.hasRoom(for: count, bytes: bytes, in: state) else {
                defer { state.nextProducerID += 1 }
                return state.nextProducerID
            }
            self.append(Entry(events: events, completion: completion, bytes: bytes), to: &state)
            return nil
        }
        guard let id = waiting else { return }
        try await withTaskCancellationHandler {
            try await withCheckedThrowingContinuation { (continuation: CheckedContinuation<Void, any Error>) in
                let refusal: (any Error)? = self.state.withLockedValue { state in
                    if state.closed { return Self.shuttingDown }
                    if Task.isCancelled { return CancellationError() }
                    state.producers.append(Producer(id: id, count: count, bytes: bytes, continuation: continuation))
                    // The writer may have emptied the queue since the check above; without this the
                    // producer would wait for a batch that nobody is left to submit.
                    self.admitProducers(&state)
                    return nil
                }
                if let refusal { continuation.resume(throwing: refusal) }
            }
        } onCancel: {
            // The connection went away while waiting for room: its events are not queued.
            let waiting = self.state.withLockedValue { state -> Producer? in
                guard let index = state.producers.firstIndex(where: { $0.id == id }) else { return nil }
                let waiting = state.producers.remove(at: index)
                // A smaller producer behind it may fit now.
                self.admitProducers(&state)
                return waiting
            }
            waiting?.continuation.resume(throwing: CancellationError())
        }
        try self.state.withLockedValue { state in
            state.reserved -= count
            state.reservedBytes -= bytes
            if state.closed { throw Self.shuttingDown }
            self.append(Entry(events: events, completion: completion, bytes: bytes), to: &state)
        }
    }

    /// An entry larger than the whole queue is let in alone rather than waiting forever.
    private func hasRoom(for count: Int, bytes: Int, in state: State) -> Bool {
        let held = state.eventCount + state.reserved
        if held == 0 { return true }
        return held + count <= self.capacity && state.byteCount + state.reservedBytes + bytes <= self.byteCapacity
    }

    private static var shuttingDown: LedgerProtocolError {
        LedgerProtocolError(code: .shuttingDown, message: "ledgerd is shutting down and accepts no more events")
    }

    private func append(_ entry: Entry, to state: inout State) {
        state.entries.append(entry)
        state.eventCount += entry.events.count
        state.byteCount += entry.bytes
        if let consumer = state.consumer, !state.consumerWantsFullBatch || state.eventCount >= state.fullBatchSize {
            state.consumer = nil
            consumer.resume()
        }
    }

    private func admitProducers(_ state: inout State) {
        while let first = state.producers.first, self.hasRoom(for: first.count, bytes: first.bytes, in: state) {
            state.producers.removeFirst()
            state.reserved += first.count
            state.reservedBytes += first.bytes
            first.continuation.resume()
        }
    }

    /// Stops accepting events; the writer still drains what was queued.
    public func close() {
        let (producers, consumer): (CircularBuffer<Producer>, CheckedContinuation<Void, Never>?) = self.state.withLockedValue { state in
            state.closed = true
            if state.shutdownBegan == nil { state.shutdownBegan = .now }
            defer {
                state.producers.removeAll()
                state.consumer = nil
            }
            return (state.producers, state.consumer)
        }
        for producer in producers {
            producer.continuation.resume(throwing: Self.shuttingDown)
        }
        consumer?.resume()
    }

    /// The next group of entries to commit together, or nil once closed and drained.
    ///
    /// Waits for the first event, then up to `delay` for `maximumEvents` to gather.
    func nextBatch(maximumEvents: Int, delay: Duration) async -> [Entry]? {
        await self.waitForEntries(fullBatch: nil, cycle: nil)
        if delay > .zero {
            let (cycle, full) = self.state.withLockedValue { state in
                state.delayCycle += 1
                return (state.delayCycle, state.eventCount >= maximumEvents || state.closed)
            }
            if !full {
                let timer = Task {
                    try? await Task.sleep(for: delay)
                    self.expireDelay(cycle: cycle)
                }
                await self.waitForEntries(fullBatch: maximumEvents, cycle: cycle)
                timer.cancel()
            }
        }
        return self.state.withLockedValue { state -> [Entry]? in
            if state.entries.isEmpty { return state.closed ? nil : [] }
            var batch: [Entry] = []
            var taken = 0
            var takenBytes = 0
            while let first = state.entries.first, batch.isEmpty || taken + first.events.count <= maximumEvents {
                state.entries.removeFirst()
                taken += first.events.count
                takenBytes += first.bytes
                batch.append(first)
            }
            state.eventCount -= taken
            state.byteCount -= takenBytes
            self.admitProducers(&state)
            return batch
        }
    }

    private func waitForEntries(fullBatch: Int?, cycle: Int?) async {
        await withCheckedContinuation { (continuation: CheckedContinuation<Void, Never>) in
            let ready: Bool = self.state.withLockedValue { state in
                if state.closed { return true }
                if let fullBatch {
                    if state.eventCount >= fullBatch || state.expiredDelayCycle == cycle { return true }
                    state.fullBatchSize = fullBatch
                    state.consumerWantsFullBatch = true
                } else {
                    if !state.entries.isEmpty { return true }
                    state.consumerWantsFullBatch = false
                }
                state.consumer = continuation
                return false
            }
            if ready { continuation.resume() }
        }
    }

    private func expireDelay(cycle: Int) {
        let consumer = self.state.withLockedValue { state -> CheckedContinuation<Void, Never>? in
            state.expiredDelayCycle = cycle
            guard state.consumerWantsFullBatch, state.delayCycle == cycle else { return nil }
            defer { state.consumer = nil }
            return state.consumer
        }
        consumer?.resume()
    }
}
