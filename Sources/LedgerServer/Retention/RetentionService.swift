import Foundation
import LedgerFiles
import LedgerProtocol
import LedgerStore
import Logging
import ServiceLifecycle

/// Removes what the retention policy says has expired: once at start, then every interval.
///
/// Each rule's pass first commits one `ledger_retention` record through the ingest queue, as any
/// event (so tails and queries see it), saying which rule removes how many events from which time
/// range; then it removes exactly those, in slices sized to take a few milliseconds each, with the
/// writer left free between slices for `restPerSlice` times as long as the slice took, so ingest
/// never stalls behind a purge. A pass cut short (a crash, a shutdown) leaves its record and the rest for the next pass.
struct RetentionService: Service {
    let interval: Duration
    let store: any EventStore
    let queue: IngestQueue
    let stats: ServerStats
    let log: RetentionLog
    let logger: Logger

    /// Slices start at this many events and grow or shrink to take about `sliceTarget`: a commit
    /// that arrives during a slice waits for it, so its length is what a purge adds to an ack's
    /// latency (slices of up to 20 ms doubled the p99 of batch-1 acks at 1,500/s; BENCHMARKS.md).
    static let firstSlice = 200
    static let slices = 20...5_000
    static let sliceTarget: ClosedRange<Duration> = .milliseconds(2)...(.milliseconds(6))
    /// The rest after a slice, as a multiple of the slice's time. What an ack pays for a purge is
    /// mostly the log sync that carries the purge's pages, so the purge is paced by it: resting as
    /// long as each slice, a SQLite purge at ten million events removed 7,000 to 11,000 events/s
    /// and tripled the p99 of batch-1 acks; resting three times as long, 1,800 to 4,000/s, under
    /// twice the p99 (BENCHMARKS.md, purge).
    static let restPerSlice = 3
    /// And at least long enough that the pass writes no more than this much a second to the
    /// server's write-ahead log, where the store can tell what each slice wrote. On PostgreSQL a slice
    /// runs beside ingest on its own connection and takes a few milliseconds however much it
    /// deletes, so resting by its time alone let a purge write ten times what it writes on SQLite
    /// into the log every ack's commit flushes, and more than doubled the p99 of batch-1 acks at
    /// ten million events (BENCHMARKS.md, purge).
    static let logBytesPerSecond: UInt64 = 4 << 20

    func run() async throws {
        await cancelWhenGracefulShutdown {
            // The first pass since start also finishes a reclaim that a shutdown cut short; later
            // passes reclaim only after removing something.
            var reclaimAnyway = true
            while !Task.isCancelled {
                // A policy that keeps everything has nothing to pass over; SIGHUP may bring one that does.
                if !self.log.policy.expiringRules.isEmpty {
                    await self.pass(reclaimAnyway: reclaimAnyway)
                    reclaimAnyway = false
                }
                do {
                    try await self.log.waitForNextPass(self.interval)
                } catch {
                    return
                }
            }
        }
    }

    func pass(reclaimAnyway: Bool) async {
        self.log.begin(at: .now())
        let note = await self.claimAndExpire(reclaimAnyway: reclaimAnyway)
        let finished = LedgerTimestamp.now()
        self.log.finish(at: finished, note: note, next: LedgerTimestamp(rawValue: finished.rawValue + self.interval.components.seconds * 1_000_000))
    }

    /// - Returns: the pass's note for `ledger-rpc retention`, empty when it ran to its end.
    private func claimAndExpire(reclaimAnyway: Bool) async -> String {
        var failure: (any Error)?
        do {
            guard try await self.store.claimRetention() else {
                return "another ledgerd on this database holds the retention lock and purges for all of them"
            }
            do { try await self.expireEveryRule(reclaimAnyway: reclaimAnyway) } catch { failure = error }
            await self.store.releaseRetention()
        } catch {
            failure = error
        }
        switch failure {
        case nil:
            return ""
        case is CancellationError:
            return "stopped by shutdown; the next pass goes on"
        case let error?:
            self.logger.warning("retention pass stopped", metadata: ["error": "\(error)"])
            return "stopped: \(error)"
        }
    }

    private func expireEveryRule(reclaimAnyway: Bool) async throws {
        let policy = self.log.policy
        var removedThisPass: UInt64 = 0
        for rule in policy.expiringRules {
            try Task.checkCancellation()
            let through = try await self.store.latestSequence()
            guard var selection = ExpirySelection(rule: rule, of: policy, now: .now(), throughSequence: through) else { continue }
            let summary = try await self.store.expirySummary(selection)
            guard summary.events > 0 else { continue }
            selection.record = try await self.announce(selection, summary)
            let removed = try await self.remove(selection)
            removedThisPass += removed
            self.logger.notice(
                "removed expired events",
                metadata: ["rule": "\(rule)", "events": "\(removed)", "before": "\(selection.before)"])
        }
        guard removedThisPass > 0 || reclaimAnyway else { return }
        while try await self.store.reclaimSpace() {
            try Task.checkCancellation()
            try await Task.sleep(for: .milliseconds(10))
        }
    }

    /// Commits the pass's record before anything is removed, so no removal is ever unrecorded.
    /// - Returns: the record's id, which each removed event's tombstone names.
    private func announce(_ selection: ExpirySelection, _ summary: ExpirySummary) async throws -> UUID {
        let now = LedgerTimestamp.now()
        var fields = [
            "\"rule\":\(JSONText.quote(selection.rule.description))", "\"events\":\(summary.events)",
            "\"before\":\"\(selection.before.iso8601)\"", "\"through_seq\":\(selection.throughSequence)",
            "\"daemon\":\(JSONText.quote(ProcessInfo.processInfo.hostName))",
        ]
        if let oldest = summary.oldest, let newest = summary.newest {
            fields.insert(contentsOf: ["\"oldest\":\"\(oldest.iso8601)\"", "\"newest\":\"\(newest.iso8601)\""], at: 2)
        }
        let record = LedgerEvent(
            id: .ledgerV7(unixMilliseconds: UInt64(max(0, now.rawValue / 1_000))), timestamp: now, eventType: RetentionPolicy.recordEventType,
            entityType: RetentionPolicy.recordEntityType, entityID: selection.rule.description, metadata: "{\(fields.joined(separator: ","))}",
            severity: .warn)
        let ticket = CommitTicket()
        try await self.queue.submit([record], completion: ticket)
        try await ticket.wait()
        return record.id
    }

    /// Removes the selection a slice at a time; returns how many went.
    private func remove(_ selection: ExpirySelection) async throws -> UInt64 {
        var cursor: EventCursor?
        var limit = Self.firstSlice
        var removed: UInt64 = 0
        let clock = ContinuousClock()
        while true {
            try Task.checkCancellation()
            let began = clock.now
            let progress = try await self.store.expire(selection, after: cursor, limit: limit)
            let took = began.duration(to: clock.now)
            removed += UInt64(progress.removed)
            self.stats.add(\.eventsExpired, Int64(progress.removed))
            self.log.removed(UInt64(progress.removed), by: selection.rule)
            guard let last = progress.last else { return removed }
            cursor = last
            if took < Self.sliceTarget.lowerBound {
                limit = min(limit * 2, Self.slices.upperBound)
            } else if took > Self.sliceTarget.upperBound {
                limit = max(limit / 2, Self.slices.lowerBound)
            }
            try await Task.sleep(for: Self.rest(after: took, logBytes: progress.logBytes))
        }
    }

    /// The rest after a slice that took `took` and advanced the log by `logBytes`.
    static func rest(after took: Duration, logBytes: UInt64?) -> Duration {
        let byTime = took * Self.restPerSlice
        guard let logBytes else { return byTime }
        return max(byTime, .seconds(Double(logBytes) / Double(Self.logBytesPerSecond)))
    }
}
