import CSQLite
import Foundation

/// A time budget for each query on one reader connection, enforced by SQLite's progress handler:
/// a query past its budget is interrupted where it stands, so no filter, however unindexed, can
/// hold a reader for long.
///
/// Used from the reader's thread only, as its connection is.
final class SQLiteQueryBudget {
    let timeout: Duration
    /// When the running query must stop, in `DispatchTime` nanoseconds; 0 while none runs.
    fileprivate var deadline: UInt64 = 0
    /// Whether the handler interrupted the query that ran last.
    fileprivate(set) var expired = false

    init(timeout: Duration) {
        self.timeout = timeout
    }

    /// Installs the handler on the connection, for the life of both.
    func install(on handle: OpaquePointer) {
        // Every 1,000 virtual-machine steps: a few microseconds of work between looks at the clock.
        sqlite3_progress_handler(handle, 1_000, sqliteQueryBudgetCheck, Unmanaged.passUnretained(self).toOpaque())
    }

    func begin() {
        let nanoseconds = UInt64(self.timeout.components.seconds) * 1_000_000_000 + UInt64(self.timeout.components.attoseconds / 1_000_000_000)
        self.deadline = DispatchTime.now().uptimeNanoseconds + nanoseconds
        self.expired = false
    }

    func end() {
        self.deadline = 0
    }

    fileprivate func check() -> Int32 {
        guard self.deadline != 0, DispatchTime.now().uptimeNanoseconds > self.deadline else { return 0 }
        self.expired = true
        return 1
    }
}

/// SQLite's progress callback: non-zero interrupts the statement.
private func sqliteQueryBudgetCheck(_ context: UnsafeMutableRawPointer?) -> Int32 {
    guard let context else { return 0 }
    return Unmanaged<SQLiteQueryBudget>.fromOpaque(context).takeUnretainedValue().check()
}
