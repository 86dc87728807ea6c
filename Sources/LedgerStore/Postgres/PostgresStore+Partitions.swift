import Logging
import NIOConcurrencyHelpers

/// When the month partitions are next looked at: at the first commit, then hourly.
final class PostgresPartitionSchedule: Sendable {
    static let interval: Duration = .seconds(3_600)
    private let due = NIOLockedValueBox<ContinuousClock.Instant?>(nil)

    /// Whether a look is due; if so, the next is an interval away, whether or not this one succeeds.
    func takeIfDue() -> Bool {
        self.due.withLockedValue { due in
            let now = ContinuousClock.now
            if let due, now < due { return false }
            due = now + Self.interval
            return true
        }
    }
}

/// Keeps the month partitions (migration 5) ahead of the clock: this month's and next month's
/// exist before an event needs them, made by whichever ledgerd looks first.
extension PostgresStore {
    static let ensurePartitions =
        "SELECT ledger_ensure_month_partition(now()), ledger_ensure_month_partition(ledger_month_start(now(), 1))"

    /// Makes the partitions that are missing, when a look is due. Never fails a commit: without its
    /// partition a month's events go to `ledger_events_default`, and the partition made later takes
    /// them. A lock it cannot get within 2 s (a schema change elsewhere) waits for the next look.
    func keepPartitionsAhead() async {
        guard self.partitionSchedule.takeIfDue() else { return }
        do {
            let made = try await self.writer.run { (connection: PostgresConnection) throws(StoreError) -> Int in
                try connection.reconnectIfBroken()
                return try connection.transaction(as: .writeFailed) { () throws(StoreError) -> Int in
                    _ = try connection.execute("SET LOCAL lock_timeout = '2s'", as: .writeFailed)
                    let result = try connection.execute(Self.ensurePartitions, as: .writeFailed)
                    return [result.text(0, 0), result.text(0, 1)].filter { $0 == "t" }.count
                }
            }
            if made > 0 { self.logger.notice("made month partitions ahead of the clock", metadata: ["partitions": "\(made)"]) }
        } catch {
            self.logger.warning(
                "could not make the month partitions ahead of the clock; events stamped past the last partition wait in ledger_events_default",
                metadata: ["error": "\(error)", "retry_in_seconds": "\(PostgresPartitionSchedule.interval.components.seconds)"])
        }
    }
}

/// Gives the space of expired months back. A retention pass deletes rows, but the months before
/// this one take no new rows, so the room their deleted rows leave would never be used again: a
/// past month's partition that holds no events any more is dropped, and its files go back to the
/// file system at once. One that keeps events (under a rule that keeps them longer) keeps its files.
extension PostgresStore {
    /// Every partition but the default one and those of this month and the next, oldest first.
    static let pastPartitions = """
        SELECT c.relname FROM pg_inherits i JOIN pg_class c ON c.oid = i.inhrelid
         WHERE i.inhparent = 'ledger_events'::regclass
           AND c.oid <> (SELECT partdefid FROM pg_partitioned_table WHERE partrelid = 'ledger_events'::regclass)
           AND NOT ledger_partition_covers(c.oid, ledger_month_start(now()))
           AND NOT ledger_partition_covers(c.oid, ledger_month_start(now(), 1))
         ORDER BY c.relname
        """

    /// A table whose vacuum, drop or analyze failed: the events are gone all the same, and the
    /// pass is not failed for the space.
    struct KeptTable {
        let name: String
        let error: StoreError

        /// A lock not granted in time (long queries or a schema change): the next pass looks
        /// again. Anything else is a refusal, such as a role that does not own the table.
        var isBusy: Bool { self.error.backendCode == "55P03" }
    }

    /// How long the drop may wait for its lock on `ledger_events`: while it waits, commits and
    /// queries queue behind it, so this is what a drop can add to an ack once.
    static let partitionDropLockTimeout = "100ms"
    /// How long a vacuum or the parent's analyze may wait for its lock.
    static let reclaimLockTimeout = "2s"

    /// Vacuums each past month's partition once, drops each that holds no events, and analyzes
    /// the parent, whose statistics autovacuum never gathers; all in one call, so false.
    public func reclaimSpace() async throws(StoreError) -> Bool {
        let (dropped, kept) = try await self.retentionWorker().run { (connection: PostgresConnection) throws(StoreError) -> ([String], [KeptTable]) in
            try connection.reconnectIfBroken()
            // Paced as autovacuum paces itself, so that a month's worth of deleted rows does not
            // take the disk from ingest; a lock held by a schema change defers the work to the
            // next pass instead of holding this one.
            _ = try connection.execute("SET vacuum_cost_delay = '2ms'; SET lock_timeout = '\(Self.reclaimLockTimeout)'", as: .writeFailed)
            defer { _ = try? connection.execute("RESET vacuum_cost_delay; RESET lock_timeout", as: .writeFailed) }
            var dropped: [String] = []
            var kept: [KeptTable] = []
            let past = try connection.execute(Self.pastPartitions, as: .writeFailed)
            for row in 0..<past.rowCount {
                guard let name = past.text(row, 0) else { continue }
                do throws(StoreError) {
                    if try Self.vacuumAndDropIfEmpty(name, on: connection) { dropped.append(name) }
                } catch where error.code != .unavailable {
                    kept.append(KeptTable(name: name, error: error))
                }
            }
            do throws(StoreError) {
                _ = try connection.execute("ANALYZE ledger_events", as: .writeFailed)
            } catch where error.code != .unavailable {
                kept.append(KeptTable(name: "ledger_events", error: error))
            }
            return (dropped, kept)
        }
        for name in dropped {
            self.logger.notice("dropped a past month's partition that retention emptied", metadata: ["partition": "\(name)"])
        }
        for table in kept {
            let metadata: Logger.Metadata = ["table": "\(table.name)", "error": "\(table.error)"]
            if table.isBusy {
                self.logger.info("a table retention reclaims was busy; the next retention pass goes on with it", metadata: metadata)
            } else {
                self.logger.warning("a table retention reclaims could not be vacuumed, dropped or analyzed; its space stays allocated", metadata: metadata)
            }
        }
        return false
    }

    /// True if the partition held no events and is gone.
    private static func vacuumAndDropIfEmpty(_ name: String, on connection: PostgresConnection) throws(StoreError) -> Bool {
        let table = "\"" + name.replacingOccurrences(of: "\"", with: "\"\"") + "\""
        let isEmpty = "SELECT NOT EXISTS (SELECT 1 FROM \(table))"
        // VACUUM cuts off the pages the deleted rows left at the table's end, so that the look
        // for a row, here and again under the lock, reads next to nothing once it is empty.
        _ = try connection.execute("VACUUM \(table)", as: .writeFailed)
        guard try connection.execute(isEmpty, as: .writeFailed).text(0, 0) == "t" else { return false }
        return try connection.transaction(as: .writeFailed) { () throws(StoreError) -> Bool in
            _ = try connection.execute("SET LOCAL lock_timeout = '\(Self.partitionDropLockTimeout)'", as: .writeFailed)
            // The parent first, in the order an insert takes them, so that no event reaches the
            // partition between the look and the drop, and no deadlock.
            _ = try connection.execute("LOCK TABLE ONLY ledger_events IN ACCESS EXCLUSIVE MODE", as: .writeFailed)
            guard try connection.execute(isEmpty, as: .writeFailed).text(0, 0) == "t" else { return false }
            _ = try connection.execute("DROP TABLE \(table)", as: .writeFailed)
            return true
        }
    }
}
