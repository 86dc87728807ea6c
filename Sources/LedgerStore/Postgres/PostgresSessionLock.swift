import Foundation
import Logging

/// A session advisory lock that daemons sharing a database take in turn as they start (to migrate
/// it, to adopt the events stored before any log). A start can wait minutes behind another daemon's
/// adoption of millions of events, so one that finds the lock held says which PostgreSQL session
/// holds it, and says again while it waits, rather than hang without a word. The wait ends when
/// the holder releases the lock or its session ends; under systemd, `TimeoutStartSec` bounds it.
struct PostgresSessionLock {
    /// The lock's bigint key, as text.
    let key: String
    /// What the holder is doing, for the log: "migrating the database".
    let purpose: String

    static let pollSeconds = 0.2
    static let reminderInterval: Duration = .seconds(30)

    /// Takes the lock, waiting for the session that holds it.
    func acquire(on connection: PostgresConnection, logger: Logger, as code: StoreError.Code) throws(StoreError) {
        guard try !self.tryAcquire(on: connection, as: code) else { return }
        let started = ContinuousClock.now
        var reminded = started
        logger.notice(
            "waiting for another ledgerd on this database to finish \(self.purpose)", metadata: self.holder(on: connection).merging(["lock": "\(self.key)"]) { $1 })
        while true {
            Thread.sleep(forTimeInterval: Self.pollSeconds)
            if try self.tryAcquire(on: connection, as: code) {
                logger.notice("took the lock after \(Self.seconds(ContinuousClock.now - started)) s", metadata: ["lock": "\(self.key)"])
                return
            }
            if ContinuousClock.now - reminded >= Self.reminderInterval {
                reminded = ContinuousClock.now
                var metadata = self.holder(on: connection)
                metadata["waited_seconds"] = "\(Self.seconds(reminded - started))"
                logger.notice("still waiting for another ledgerd on this database to finish \(self.purpose)", metadata: metadata)
            }
        }
    }

    func release(on connection: PostgresConnection, as code: StoreError.Code) {
        _ = try? connection.execute("SELECT pg_advisory_unlock($1::bigint)", [self.key], as: code)
    }

    private func tryAcquire(on connection: PostgresConnection, as code: StoreError.Code) throws(StoreError) -> Bool {
        try connection.execute("SELECT pg_try_advisory_lock($1::bigint)", [self.key], as: code).text(0, 0) == "t"
    }

    /// The session holding the lock, as `pg_stat_activity` shows it; empty when it cannot be told
    /// (the holder let go meanwhile, or this role may not see other sessions).
    private func holder(on connection: PostgresConnection) -> Logger.Metadata {
        // A bigint key is held as two halves: classid the high 32 bits, objid the low, objsubid 1.
        let result = try? connection.execute(
            """
            SELECT a.pid, coalesce(a.application_name, ''), coalesce(host(a.client_addr), 'local socket'), a.backend_start
              FROM pg_locks l JOIN pg_stat_activity a ON a.pid = l.pid
             WHERE l.locktype = 'advisory' AND l.granted AND l.objsubid = 1
               AND l.classid = ($1::bigint >> 32)::oid AND l.objid = ($1::bigint & 4294967295)::oid
             LIMIT 1
            """, [self.key], as: .queryFailed)
        guard let result, result.rowCount == 1 else { return [:] }
        return [
            "holder_pid": "\(result.text(0, 0) ?? "")", "holder_application": "\(result.text(0, 1) ?? "")",
            "holder_address": "\(result.text(0, 2) ?? "")", "holder_since": "\(result.text(0, 3) ?? "")",
        ]
    }

    private static func seconds(_ duration: Duration) -> Int {
        Int(duration.components.seconds)
    }
}
