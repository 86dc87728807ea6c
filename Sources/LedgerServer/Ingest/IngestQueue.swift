import LedgerProtocol
import LedgerTree
import NIOConcurrencyHelpers
import NIOCore

/// The bounded queue between connections and the batch writer.
///
/// Producers suspend when it holds `capacity` events, which stops the
/// connection reading from its socket: the daemon pushes back instead of
/// growing. The writer takes whole entries, up to a batch size, waiting up to
/// `commitDelay` for a batch to fill (group commit). The decisions are
/// `IngestQueueState`'s; this type holds it under a lock and resumes the tasks
/// it names once the lock is released.
public final class IngestQueue: Sendable {
    /// One request's worth of events and who to tell when they are durable.
    public struct Entry: Sendable {
        public var events: [LedgerEvent]
        /// Each event's leaf hashed up to its sequence, when the daemon keeps a tree; else empty.
        public var leaves: [LeafPrefix] = []
        /// Succeeded after commit, failed if the store rejected the batch; nil for fire-and-forget.
        public var completion: CommitTicket?
        /// What the events hold in memory, as `LedgerEvent.heldBytes` counts it.
        var bytes: Int
    }

    typealias State = IngestQueueState<CheckedContinuation<Void, any Error>, CheckedContinuation<Void, Never>>

    public let capacity: Int
    /// The queue's bound in bytes, so that large events cannot make `capacity` of them a lot of memory.
    public let byteCapacity: Int
    /// Whether events are hashed for the store's tree as they are queued.
    public let hashesLeaves: Bool
    private let state: NIOLockedValueBox<State>
    private let began = NIOLockedValueBox<ContinuousClock.Instant?>(nil)
    /// What the commit delay is measured on: given, so tests move time instead of waiting for it.
    private let clock: any Clock<Duration>

    /// - Parameters:
    ///   - capacity: most events queued.
    ///   - byteCapacity: most bytes of events queued; a single request larger than that is let in alone.
    ///   - hashesLeaves: whether to hash each event's leaf up to its sequence (`LeafPrefix`) as it is queued.
    ///   - clock: what the commit delay runs on.
    public init(capacity: Int, byteCapacity: Int = 32 << 20, hashesLeaves: Bool = false, clock: any Clock<Duration> = ContinuousClock()) {
        self.capacity = capacity
        self.byteCapacity = byteCapacity
        self.hashesLeaves = hashesLeaves
        self.clock = clock
        self.state = NIOLockedValueBox(State(capacity: capacity, byteCapacity: byteCapacity))
    }

    /// When the daemon began to shut down: marked by the listener as it stops, or by `close()`.
    /// The writer gives up on an unavailable store a fixed time after it.
    public var shutdownBegan: ContinuousClock.Instant? {
        self.began.withLockedValue { $0 }
    }

    /// Notes that shutdown has begun; producers may still queue events until `close()`.
    public func beginShutdown() {
        self.began.withLockedValue { began in
            if began == nil { began = .now }
        }
    }

    public var depth: Int {
        self.state.withLockedValue { $0.eventCount }
    }

    /// Bytes of the events queued, as `LedgerEvent.heldBytes` counts them.
    public var depthBytes: Int {
        self.state.withLockedValue { $0.byteCount }
    }

    var waitingProducers: Int { self.state.withLockedValue { $0.waitingProducers } }
    var consumerIsWaiting: Bool { self.state.withLockedValue { $0.consumerIsWaiting } }

    /// Queues the events, their metadata in canonical form (as stored, and as every read answers), suspending while the queue is full.
    ///
    /// - Throws: `LedgerProtocolError` with `SHUTTING_DOWN` once `close()` was called;
    ///   `CancellationError` when the task was cancelled while waiting for room.
    public func submit(_ events: consuming [LedgerEvent], completion: CommitTicket?) async throws {
        // Here, on the submitter's task and beside the other connections', rather than on the store's
        // one writer thread, whose time every event waits for: the tree hashes what is stored as it stands.
        for index in events.indices { events[index].canonicalizeMetadata() }
        var leaves: [LeafPrefix] = []
        if self.hashesLeaves {
            var scratch = ByteBuffer()
            leaves = events.map { LeafPrefix($0, canonical: true, scratch: &scratch) }
        }
        let bytes = events.reduce(0) { $0 + $1.heldBytes } + leaves.count * LeafPrefix.heldBytes
        let entry = Entry(events: events, leaves: leaves, completion: completion, bytes: bytes)
        let (waitID, wake) = try self.state.withLockedValue { state throws(LedgerProtocolError) in try state.offer(entry) }
        wake?.resume()
        guard let id = waitID else { return }
        try await withTaskCancellationHandler {
            try await withCheckedThrowingContinuation { (continuation: CheckedContinuation<Void, any Error>) in
                Self.wake(
                    self.state.withLockedValue { state in
                        state.park(id, count: entry.events.count, bytes: entry.bytes, producer: continuation, cancelled: Task.isCancelled)
                    })
            }
        } onCancel: {
            Self.wake(self.state.withLockedValue { $0.cancel(id) })
        }
        let consumer = try self.state.withLockedValue { state throws(LedgerProtocolError) in try state.admitted(entry) }
        consumer?.resume()
    }

    private static func wake(_ wakeups: State.Wakeups) {
        for producer in wakeups.admitted { producer.resume() }
        for (producer, error) in wakeups.refused { producer.resume(throwing: error) }
        wakeups.consumer?.resume()
    }

    /// Stops accepting events; the writer still drains what was queued.
    public func close() {
        self.beginShutdown()
        Self.wake(self.state.withLockedValue { $0.close() })
    }

    /// The next group of entries to commit together, or nil once closed and drained.
    ///
    /// Waits for the first event, then up to `delay` for `maximumEvents` to gather.
    func nextBatch(maximumEvents: Int, delay: Duration) async -> [Entry]? {
        await self.waitForEntries(fullBatch: nil, cycle: nil)
        if delay > .zero {
            let (cycle, full) = self.state.withLockedValue { $0.beginDelay(maximumEvents: maximumEvents) }
            if !full {
                await withTaskGroup(of: Void.self) { group in
                    group.addTask {
                        guard (try? await self.clock.sleep(for: delay)) != nil else { return }
                        self.state.withLockedValue { $0.delayExpired(cycle: cycle) }?.resume()
                    }
                    await self.waitForEntries(fullBatch: maximumEvents, cycle: cycle)
                    group.cancelAll()
                }
            }
        }
        let (batch, admitted) = self.state.withLockedValue { $0.takeBatch(maximumEvents: maximumEvents) }
        for producer in admitted { producer.resume() }
        return batch
    }

    private func waitForEntries(fullBatch: Int?, cycle: Int?) async {
        await withCheckedContinuation { (continuation: CheckedContinuation<Void, Never>) in
            self.state.withLockedValue { $0.wait(continuation, fullBatch: fullBatch, cycle: cycle) }?.resume()
        }
    }
}
