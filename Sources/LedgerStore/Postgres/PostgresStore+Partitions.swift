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
