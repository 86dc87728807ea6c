import LedgerProtocol
import LedgerStore
import Logging
import ServiceLifecycle

/// Drains the ingest queue into the store, one transaction per batch, and
/// completes each acknowledged request only after its transaction committed.
///
/// It is the last service to stop: on graceful shutdown it closes the queue and
/// commits everything already in it before returning.
public struct BatchWriter: Service {
    let queue: IngestQueue
    let store: any EventStore
    let stats: ServerStats
    let batchSize: Int
    let delay: Duration
    let retry: StoreRetryPolicy
    let hub: TailHub?
    let metrics: LedgerMetrics?
    let logger: Logger

    public init(
        queue: IngestQueue, store: any EventStore, stats: ServerStats, batchSize: Int, delay: Duration,
        retry: StoreRetryPolicy = StoreRetryPolicy(), hub: TailHub? = nil, metrics: LedgerMetrics? = nil, logger: Logger
    ) {
        self.queue = queue
        self.metrics = metrics
        self.retry = retry
        self.hub = hub
        self.store = store
        self.stats = stats
        self.batchSize = batchSize
        self.delay = delay
        self.logger = logger
    }

    public func run() async throws {
        // Cancellation closes the queue too, so a group torn down after a failed start still ends.
        await withTaskCancellationHandler {
            await withGracefulShutdownHandler {
                await self.drain()
            } onGracefulShutdown: {
                self.queue.close()
            }
        } onCancel: {
            self.queue.close()
        }
        self.logger.debug("batch writer drained")
        // A writer that gave up on a store that is down closed the queue itself, while the listener was
        // still stopping; it ends in its turn, or the service group would count it as a failure.
        try? await gracefulShutdown()
    }

    /// Commits batch after batch; while one batch's commit is made durable, the next one commits.
    ///
    /// Acknowledgements are settled in commit order: at most one is in a child task at a time, and
    /// the next waits for it, so at most two batches are between their commit and their
    /// acknowledgement. A child cancelled with the writer still settles its tickets (it fails them).
    private func drain() async {
        await withTaskGroup(of: Void.self) { acknowledging in
            var inFlight = false
            while let batch = await self.queue.nextBatch(maximumEvents: self.batchSize, delay: self.delay) {
                for (part, commit) in await self.commitRefusingOnlyTheRefused(batch) {
                    if commit.isDurable, !inFlight {
                        await self.acknowledge(part, commit)
                        continue
                    }
                    if inFlight { await acknowledging.next() }
                    acknowledging.addTask { await self.acknowledge(part, commit) }
                    inFlight = true
                }
            }
        }
    }

    /// Commits the batch; when the store refuses it for what it holds, rather than being down,
    /// finds the requests it refuses by committing halves, and refuses only those, to their senders.
    ///
    /// A group commit joins clients that know nothing of each other: one client's event that the
    /// store will not take must never cost the others theirs. Each request is all or nothing, as
    /// it is at validation. Finding one bad request among n costs about 2 log2(n) commits.
    ///
    /// - Returns: the parts committed, in commit order, each with its commit.
    func commitRefusingOnlyTheRefused(_ batch: [IngestQueue.Entry]) async -> [([IngestQueue.Entry], StoreCommit)] {
        switch await self.commit(batch, failingRefusedRequests: batch.count == 1) {
        case .committed(let commit):
            return [(batch, commit)]
        case .abandoned:
            return []
        case .refused(let error):
            self.logger.warning(
                "the store refused a batch for its data; committing its requests in halves to find the ones it refuses",
                metadata: ["requests": "\(batch.count)", "error": "\(error)"])
            let half = batch.count / 2
            let first = await self.commitRefusingOnlyTheRefused(Array(batch[..<half]))
            return first + (await self.commitRefusingOnlyTheRefused(Array(batch[half...])))
        }
    }

    enum CommitOutcome {
        case committed(StoreCommit)
        /// The store refused the batch for what it holds, not for an outage; nothing of it is stored
        /// and nobody has been answered yet.
        case refused(StoreError)
        /// The batch failed and its requests were answered.
        case abandoned
    }

    /// Commits the batch, riding out a store outage.
    ///
    /// - Parameter failingRefusedRequests: whether the store's refusal of the data fails the batch's
    ///   requests here, or is returned for the caller to narrow down; any other failure fails them here.
    func commit(_ batch: [IngestQueue.Entry], failingRefusedRequests: Bool = true) async -> CommitOutcome {
        guard !batch.isEmpty else { return .abandoned }
        let requests = batch.map(\.events)
        let leaves = batch.map(\.leaves)
        let eventCount = requests.reduce(0) { $0 + $1.count }
        self.stats.add(\.eventsInFlight, Int64(eventCount))
        var backoff = self.retry.initialBackoff
        while true {
            do {
                let started = ContinuousClock.now
                let commit = eventCount == 0 ? StoreCommit(sequences: []) : try await self.store.commit(requests: requests, leaves: leaves)
                if let metrics = self.metrics, eventCount > 0 {
                    metrics.commitDuration.record(ContinuousClock.now - started)
                    metrics.batchEvents.record(Double(eventCount))
                }
                if self.stats.storeAvailable.exchange(1, ordering: .relaxed) == 0 {
                    self.logger.notice("store is back; writing the held events", metadata: ["store": "\(self.store.description)"])
                }
                return .committed(commit)
            } catch where error.code == .unavailable {
                // An outage: hold the batch (and, through the full queue, everything behind it) and
                // retry. Nothing is acknowledged meanwhile, and nothing acknowledged is lost.
                if self.stats.storeAvailable.exchange(0, ordering: .relaxed) == 1 {
                    self.stats.add(\.storeOutages)
                    self.logger.error(
                        "store unavailable; holding events and retrying",
                        metadata: ["events": "\(eventCount)", "error": "\(error)"])
                }
                self.stats.add(\.storeRetries)
                var wait = backoff
                if let began = self.queue.shutdownBegan {
                    let left = began + self.retry.shutdownLimit - ContinuousClock.now
                    if left <= .zero {
                        // Closing the queue also turns away the producers still waiting for room in it;
                        // until then their connections, and so the daemon, could not finish.
                        self.queue.close()
                        self.fail(batch, events: eventCount, error: error, reason: "the store did not come back before shutdown")
                        return .abandoned
                    }
                    wait = min(wait, left)
                }
                do {
                    try await Task.sleep(for: wait)
                } catch {
                    self.fail(batch, events: eventCount, error: error, reason: "the daemon was stopped during a store outage")
                    return .abandoned
                }
                backoff = min(backoff * 2, self.retry.maximumBackoff)
            } catch {
                // Only a refusal of the data is narrowed down; a store that fails every write (a failed
                // sync, its files replaced) fails the batch at once rather than once per request.
                guard failingRefusedRequests || !error.refusesTheData else {
                    self.stats.add(\.eventsInFlight, -Int64(eventCount))
                    return .refused(error)
                }
                if !error.refusesTheData { self.noteStoreDown() }
                self.fail(
                    batch, events: eventCount, error: error,
                    reason: error.refusesTheData ? "the store refused the request" : "the store could not write the batch")
                return .abandoned
            }
        }
    }

    /// Once the commit is durable: counts it, hands it to live tails and acknowledges its requests.
    func acknowledge(_ batch: [IngestQueue.Entry], _ commit: StoreCommit) async {
        let eventCount = commit.sequences.count
        do {
            let started = ContinuousClock.now
            try await commit.waitUntilDurable()
            if eventCount > 0 { self.metrics?.syncDuration.record(ContinuousClock.now - started) }
        } catch {
            self.noteStoreDown()
            self.fail(batch, events: eventCount, error: error, reason: "the commit could not be made durable")
            return
        }
        let sequences = commit.sequences
        let inserted = sequences.reduce(0) { $0 + ($1 == nil ? 0 : 1) }
        self.stats.add(\.eventsCommitted, Int64(inserted))
        self.stats.add(\.eventsDuplicate, Int64(eventCount - inserted))
        self.stats.add(\.batchesCommitted)
        self.stats.add(\.eventsInFlight, -Int64(eventCount))
        // A subscriber that registers after this check reads these events in its catch-up, which starts later.
        if let hub = self.hub, inserted > 0, hub.hasSubscribers {
            // Before the acks, so a tail sees an event no later than its sender's ack.
            // Only what was newly stored, with its commit sequence: a retried duplicate is not news.
            var stored: [LedgerEvent] = []
            stored.reserveCapacity(inserted)
            for (event, sequence) in zip(batch.lazy.flatMap(\.events), sequences) {
                guard let sequence else { continue }
                var event = event
                event.sequence = sequence
                stored.append(event)
            }
            hub.publish(stored)
        }
        let acked = ContinuousClock.now
        for entry in batch {
            guard let completion = entry.completion else { continue }
            completion.succeed()
            self.metrics?.ackLatency.record(acked - completion.received)
        }
    }

    /// A store that cannot write (a failed sync, its files replaced) is not available, outage or not.
    private func noteStoreDown() {
        if self.stats.storeAvailable.exchange(0, ordering: .relaxed) == 1 { self.stats.add(\.storeOutages) }
    }

    private func fail(_ batch: [IngestQueue.Entry], events: Int, error: any Error, reason: String) {
        self.stats.add(\.eventsFailed, Int64(events))
        self.stats.add(\.eventsInFlight, -Int64(events))
        self.logger.error("\(reason); its events are not stored", metadata: ["events": "\(events)", "error": "\(error)"])
        for entry in batch {
            entry.completion?.fail(error)
        }
    }
}

/// How the batch writer rides out a store outage.
public struct StoreRetryPolicy: Sendable {
    public var initialBackoff: Duration = .milliseconds(100)
    public var maximumBackoff: Duration = .seconds(5)
    /// After shutdown begins, how long to keep retrying before the held events are given up.
    public var shutdownLimit: Duration = .seconds(10)

    public init() {}
}
