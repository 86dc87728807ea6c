import Foundation
import LedgerProtocol
import Logging
import NIOConcurrencyHelpers

/// Makes SQLite's write-ahead log durable on a thread of its own, so that the writer commits the
/// next batch while the last one's frames reach the disk.
///
/// The writer commits with `synchronous=NORMAL`: SQLite writes a commit's frames but does not sync
/// them. A sync of the log file begun after a commit returned makes that commit durable, and every
/// commit before it, so one sync covers all the commits made while the last one ran. SQLite still
/// syncs the log before a checkpoint copies it back and the database after, and recovery reads only
/// frames whose checksums hold, so a flushed commit survives power loss as under `synchronous=FULL`.
///
/// What readers see is held to what is flushed (`visibleSequence`), so a query or a tail never
/// shows an event that a power loss could take back, nor a commit number that could be reused.
final class SQLiteLogFlusher: Sendable {
    private struct State {
        /// Commits the writer has made, counted from the store's opening.
        var commits: Int64 = 0
        /// The highest commit sequence number among them.
        var lastSequence: Int64
        /// Commits known to be on disk.
        var flushedCommits: Int64 = 0
        /// The highest sequence number known to be on disk.
        var flushedSequence: Int64
        var failure: StoreError?
        var filesReplaced: Int64 = 0
        /// Syncs of the log, and the time they took, for the operator's view of the disk.
        var syncs: Int64 = 0
        var syncTime: Duration = .zero
    }

    /// Syncs a file descriptor's data, as `fdatasync(2)`: 0 or -1 with `errno` set.
    typealias Sync = @Sendable (CInt) -> CInt

    private let state: NIOLockedValueBox<State>
    private let worker: Worker<LogFile>
    private let logger: Logger

    /// - Parameter lastSequence: the highest sequence number in the database as it was opened.
    init(path: String, lastSequence: Int64, logger: Logger, sync: @escaping Sync = { fdatasync($0) }) async throws(StoreError) {
        self.state = NIOLockedValueBox(State(lastSequence: lastSequence, flushedSequence: lastSequence))
        self.logger = logger
        self.worker = try await Worker(name: "ledger-sqlite-flusher") { () throws(StoreError) in
            let file = LogFile(path: path + "-wal", sync: sync)
            // Commits a previous run wrote but never flushed are in the system's cache, not yet on disk.
            try file.flush(logMayBeMissing: true)
            return file
        }
    }

    /// The highest sequence number a reader may see: every event up to it is on disk.
    var visibleSequence: Int64 {
        self.state.withLockedValue { $0.flushedSequence }
    }

    /// The database or its log was unlinked or replaced: writes stop as after a failed flush, and
    /// stats show `sqlite_files_replaced`.
    /// - Returns: the error to throw, naming the problem and what it costs.
    func failFilesChanged(_ problem: String, consequence: String) -> StoreError {
        self.state.withLockedValue { $0.filesReplaced = 1 }
        return self.fail(StoreError(code: .writeFailed, message: "\(problem); \(consequence)"))
    }

    /// Throws once a flush has failed: after that nothing written can be promised durable.
    func checkUsable() throws(StoreError) {
        if let failure = self.state.withLockedValue({ $0.failure }) { throw failure }
    }

    /// Refuses every write from now on, as after a failed flush, and returns the error to throw.
    func fail(_ error: StoreError) -> StoreError {
        self.state.withLockedValue { $0.failure = error }
        self.logger.critical("the SQLite store refuses writes until ledgerd restarts", metadata: ["error": "\(error)"])
        return error
    }

    /// Counts a commit that has returned; called by the writer on its own thread.
    /// - Returns: the commit's number, for `flush(through:)`.
    func committed(lastSequence: Int64) -> Int64 {
        self.state.withLockedValue { state in
            state.commits += 1
            state.lastSequence = max(state.lastSequence, lastSequence)
            return state.commits
        }
    }

    /// Returns once commit `number`, and every commit before it, is on disk.
    func flush(through number: Int64) async throws(StoreError) {
        if try self.isFlushed(through: number) { return }
        try await self.worker.run { (file: LogFile) throws(StoreError) in
            // Queued behind a sync that began after this commit, the wait may already be over.
            if try self.isFlushed(through: number) { return }
            let (commits, lastSequence) = self.state.withLockedValue { ($0.commits, $0.lastSequence) }
            let started = ContinuousClock.now
            do throws(StoreError) {
                try file.flush()
            } catch {
                throw self.fail(error)
            }
            let took = ContinuousClock.now - started
            self.state.withLockedValue { state in
                state.flushedCommits = max(state.flushedCommits, commits)
                state.flushedSequence = max(state.flushedSequence, lastSequence)
                state.syncs += 1
                state.syncTime += took
            }
        }
    }

    /// Commits since the store opened, syncs of the log, and the microseconds the syncs took.
    var counters: [StatsResult.Counter] {
        let state = self.state.withLockedValue { $0 }
        return [
            .init("sqlite_commits", state.commits),
            .init("sqlite_log_syncs", state.syncs),
            .init("sqlite_log_sync_us", Int64(state.syncTime / .microseconds(1))),
            .init("sqlite_files_replaced", state.filesReplaced),
            .init("sqlite_writes_refused", state.failure == nil ? 0 : 1),
        ]
    }

    private func isFlushed(through number: Int64) throws(StoreError) -> Bool {
        let (flushed, failure) = self.state.withLockedValue { ($0.flushedCommits >= number, $0.failure) }
        if let failure { throw failure }
        return flushed
    }

    func shutdown() async {
        await self.worker.shutdown()
    }
}

/// The log file, opened for syncing only, on the flusher's thread.
///
/// It stays the same file while the store is open: SQLite starts the log over by writing it from
/// the beginning again, and removes it only when the last connection closes.
private final class LogFile {
    let path: String
    private let sync: SQLiteLogFlusher.Sync
    private var descriptor: CInt = -1

    init(path: String, sync: @escaping SQLiteLogFlusher.Sync) {
        self.path = path
        self.sync = sync
    }

    deinit {
        if self.descriptor >= 0 { close(self.descriptor) }
    }

    /// - Parameter logMayBeMissing: true before the first commit, when there may be no log yet and
    ///   so nothing to flush. After a commit a missing log means the database is not in WAL mode.
    func flush(logMayBeMissing: Bool = false) throws(StoreError) {
        if self.descriptor < 0 {
            self.descriptor = open(self.path, O_RDONLY | O_CLOEXEC)
            if self.descriptor < 0 {
                if errno == ENOENT, logMayBeMissing { return }
                throw StoreError(
                    code: .writeFailed, message: "cannot open the SQLite log \(self.path) to flush it: \(String(cString: strerror(errno)))")
            }
        }
        while self.sync(self.descriptor) != 0 {
            if errno == EINTR { continue }
            throw StoreError(
                code: .writeFailed,
                message: """
                    cannot flush the SQLite log \(self.path) to disk: \(String(cString: strerror(errno))); events committed \
                    since the last flush may not survive a power loss, and no more are taken until ledgerd restarts
                    """)
        }
    }
}
