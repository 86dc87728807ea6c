import LedgerProtocol
import NIOCore

/// The ingest queue's bookkeeping and decisions, with no tasks, no locks and no clock.
///
/// Each method takes one event (events offered, a producer parked or cancelled, the writer waiting
/// or taking a batch, the commit delay running out, close) and returns whom to wake; `IngestQueue`
/// holds it under a lock and wakes them after the lock is released.
///
/// - `Producer` is what a producer waiting for room is woken through; `Consumer` the writer.
struct IngestQueueState<Producer, Consumer> {
    /// Who to wake once the lock is released.
    struct Wakeups {
        var admitted: [Producer] = []
        var refused: [(Producer, any Error)] = []
        var consumer: Consumer?
    }

    fileprivate struct Waiting {
        var id: UInt64
        var count: Int
        var bytes: Int
        var producer: Producer
    }

    let capacity: Int
    let byteCapacity: Int
    private var entries: CircularBuffer<IngestQueue.Entry> = CircularBuffer()
    private(set) var eventCount = 0
    private(set) var byteCount = 0
    /// Events (and their bytes) of producers woken with room for them that have not appended yet:
    /// counting them keeps a producer arriving meanwhile from taking the same room.
    private var reserved = 0
    private var reservedBytes = 0
    private var waiting: CircularBuffer<Waiting> = CircularBuffer()
    private var nextProducerID: UInt64 = 0
    private var consumer: Consumer?
    /// The writer wants waking only when a full batch is ready (it is in its commit delay).
    private var consumerWantsFullBatch = false
    private var fullBatchSize = Int.max
    /// Counts commit delays, so a timer left over from an earlier batch cannot cut a later one short.
    private var delayCycle = 0
    private var expiredDelayCycle = -1
    private(set) var closed = false

    init(capacity: Int, byteCapacity: Int) {
        self.capacity = capacity
        self.byteCapacity = byteCapacity
    }

    var waitingProducers: Int { self.waiting.count }
    var consumerIsWaiting: Bool { self.consumer != nil }

    static var shuttingDown: LedgerProtocolError {
        LedgerProtocolError(code: .shuttingDown, message: "ledgerd is shutting down and accepts no more events")
    }

    // MARK: Producers

    /// Events offered: queued at once (perhaps waking the writer), or the id to wait for room under.
    mutating func offer(_ entry: IngestQueue.Entry) throws(LedgerProtocolError) -> (waitID: UInt64?, wake: Consumer?) {
        if self.closed { throw Self.shuttingDown }
        guard self.waiting.isEmpty, self.hasRoom(for: entry.events.count, bytes: entry.bytes) else {
            defer { self.nextProducerID += 1 }
            return (self.nextProducerID, nil)
        }
        return (nil, self.append(entry))
    }

    /// A producer told to wait begins to. The writer may have emptied the queue since its offer, so
    /// it may be admitted at once; without that it would wait for a batch nobody is left to submit.
    mutating func park(_ id: UInt64, count: Int, bytes: Int, producer: Producer, cancelled: Bool) -> Wakeups {
        if self.closed { return Wakeups(refused: [(producer, Self.shuttingDown)]) }
        if cancelled { return Wakeups(refused: [(producer, CancellationError())]) }
        self.waiting.append(Waiting(id: id, count: count, bytes: bytes, producer: producer))
        return Wakeups(admitted: self.admitWaiting())
    }

    /// The connection of a waiting producer went away: its events are not queued, and a smaller
    /// producer behind it may fit now.
    mutating func cancel(_ id: UInt64) -> Wakeups {
        guard let index = self.waiting.firstIndex(where: { $0.id == id }) else { return Wakeups() }
        let cancelled = self.waiting.remove(at: index)
        return Wakeups(admitted: self.admitWaiting(), refused: [(cancelled.producer, CancellationError())])
    }

    /// An admitted producer appends the events it was given room for.
    mutating func admitted(_ entry: IngestQueue.Entry) throws(LedgerProtocolError) -> Consumer? {
        self.reserved -= entry.events.count
        self.reservedBytes -= entry.bytes
        if self.closed { throw Self.shuttingDown }
        return self.append(entry)
    }

    /// An entry larger than the whole queue is let in alone rather than waiting forever.
    private func hasRoom(for count: Int, bytes: Int) -> Bool {
        let held = self.eventCount + self.reserved
        if held == 0 { return true }
        return held + count <= self.capacity && self.byteCount + self.reservedBytes + bytes <= self.byteCapacity
    }

    private mutating func append(_ entry: IngestQueue.Entry) -> Consumer? {
        self.entries.append(entry)
        self.eventCount += entry.events.count
        self.byteCount += entry.bytes
        guard self.consumer != nil, !self.consumerWantsFullBatch || self.eventCount >= self.fullBatchSize else { return nil }
        return self.consumer.take()
    }

    private mutating func admitWaiting() -> [Producer] {
        var admitted: [Producer] = []
        while let first = self.waiting.first, self.hasRoom(for: first.count, bytes: first.bytes) {
            self.waiting.removeFirst()
            self.reserved += first.count
            self.reservedBytes += first.bytes
            admitted.append(first.producer)
        }
        return admitted
    }

    // MARK: The writer

    /// The writer waits: for the first event (`fullBatch` nil), or, in its commit delay, for a full
    /// batch or the delay's end. Returns the writer itself when there is no need to wait.
    mutating func wait(_ consumer: Consumer, fullBatch: Int?, cycle: Int?) -> Consumer? {
        if self.closed { return consumer }
        if let fullBatch {
            if self.eventCount >= fullBatch || self.expiredDelayCycle == cycle { return consumer }
            self.fullBatchSize = fullBatch
            self.consumerWantsFullBatch = true
        } else {
            if !self.entries.isEmpty { return consumer }
            self.consumerWantsFullBatch = false
        }
        self.consumer = consumer
        return nil
    }

    /// A commit delay begins; returns its cycle, and whether there is no reason to wait at all.
    mutating func beginDelay(maximumEvents: Int) -> (cycle: Int, full: Bool) {
        self.delayCycle += 1
        return (self.delayCycle, self.eventCount >= maximumEvents || self.closed)
    }

    /// The delay's timer fired: the writer commits what it has, unless this delay is already over.
    mutating func delayExpired(cycle: Int) -> Consumer? {
        self.expiredDelayCycle = cycle
        guard self.consumerWantsFullBatch, self.delayCycle == cycle else { return nil }
        return self.consumer.take()
    }

    /// Whole entries up to `maximumEvents` (at least one entry); nil once closed and drained.
    /// Taking them makes room, so waiting producers may be admitted.
    mutating func takeBatch(maximumEvents: Int) -> (batch: [IngestQueue.Entry]?, admitted: [Producer]) {
        if self.entries.isEmpty { return (self.closed ? nil : [], []) }
        var batch: [IngestQueue.Entry] = []
        var taken = 0
        var takenBytes = 0
        while let first = self.entries.first, batch.isEmpty || taken + first.events.count <= maximumEvents {
            self.entries.removeFirst()
            taken += first.events.count
            takenBytes += first.bytes
            batch.append(first)
        }
        self.eventCount -= taken
        self.byteCount -= takenBytes
        return (batch, self.admitWaiting())
    }

    /// Stops accepting events: every waiting producer is refused, and the writer woken to drain.
    mutating func close() -> Wakeups {
        self.closed = true
        defer { self.waiting.removeAll() }
        return Wakeups(refused: self.waiting.map { ($0.producer, Self.shuttingDown) }, consumer: self.consumer.take())
    }
}

extension IngestQueueState: Sendable where Producer: Sendable, Consumer: Sendable {}
extension IngestQueueState.Waiting: Sendable where Producer: Sendable {}
