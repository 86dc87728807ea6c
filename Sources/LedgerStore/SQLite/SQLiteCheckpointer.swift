import Logging
import NIOConcurrencyHelpers

/// Copies SQLite's write-ahead log back into the database on a thread and connection of its own,
/// so that a commit does not wait for a checkpoint.
///
/// SQLite's automatic checkpoint runs inside the commit that crosses its threshold: with a long
/// log that commit, and every acknowledgement waiting on it, took 70 to 110 ms (BENCHMARKS.md).
/// A checkpoint beside the writer copies the frames that exist when it starts; under steady load
/// more arrive meanwhile, and SQLite starts the log over only once every frame is copied with no
/// commit in between. So a round is a few background passes, each leaving less behind, and then
/// the writer copies the little that is left itself, between two commits.
final class SQLiteCheckpointer: Sendable {
    /// When a round starts and how it ends, in log frames (one frame is one page, 4 KiB by default).
    struct Policy: Sendable {
        /// A round starts when the log holds this many frames (192 MiB). Long enough that an index
        /// page rewritten by many commits is copied once; longer bought nothing measurable once
        /// checkpoints left the commit (BENCHMARKS.md, SQLite).
        var startFrames = 49_152
        /// The writer finishes the round when at most this many frames are left to copy. The
        /// fewer, the shorter the commit that waits for them (BENCHMARKS.md).
        var finishFrames = 256
        /// Or once the log is this long, whatever is left: large commits may always leave more
        /// than `finishFrames` behind a pass. This bounds the `-wal` file, at 288 MiB by default,
        /// unless a reader holds old frames; then the writer copies what it can before every
        /// commit, as SQLite itself would.
        var limitFrames = 73_728
    }

    private struct Round {
        var passRunning = false
        /// Frames the last background pass left copied; 0 before the round's first pass.
        var copiedFrames = 0
    }

    private enum Step {
        case nothing
        case startPass
        case finish
    }

    let policy: Policy
    private let worker: Worker<SQLiteConnection>
    private let round = NIOLockedValueBox(Round())
    private let logger: Logger

    init(path: String, policy: Policy, logger: Logger) async throws(StoreError) {
        self.policy = policy
        self.logger = logger
        self.worker = try await Worker(name: "ledger-sqlite-checkpointer") { () throws(StoreError) in
            let connection = try SQLiteConnection(path: path)
            // The first connection to a new file: switching it to WAL writes its header, which fixes
            // auto_vacuum, so this is where a new file is made for incremental vacuum (SQLiteStore).
            try connection.execute("PRAGMA auto_vacuum=INCREMENTAL", as: .unavailable)
            // Until a connection has read the file it does not know the log exists, and checkpoints nothing.
            try connection.execute("PRAGMA journal_mode=WAL", as: .unavailable)
            return connection
        }
    }

    /// Called by the writer on its own thread before each commit, when the log is as long as the
    /// last commit left it.
    func betweenCommits(on writer: SQLiteConnection) {
        let frames = writer.walFrames
        let policy = self.policy
        let step = self.round.withLockedValue { round -> Step in
            guard frames >= policy.startFrames else {
                // Below the start, or the log was started over: any round is done.
                round.copiedFrames = 0
                return .nothing
            }
            if frames >= policy.limitFrames { return .finish }
            if round.passRunning { return .nothing }
            if round.copiedFrames > 0, frames - round.copiedFrames <= policy.finishFrames { return .finish }
            round.passRunning = true
            return .startPass
        }
        switch step {
        case .nothing:
            break
        case .finish:
            do {
                let (logFrames, copiedFrames) = try writer.checkpoint()
                self.round.withLockedValue { $0.copiedFrames = 0 }
                self.logger.trace("checkpoint finished by the writer", metadata: ["log": "\(logFrames)", "copied": "\(copiedFrames)"])
            } catch {
                // Busy (a pass still runs, a reader holds frames) or failing: the next commit tries again.
                self.logger.debug("checkpoint by the writer did not finish", metadata: ["error": "\(error)"])
            }
        case .startPass:
            self.worker.start({ (connection: SQLiteConnection) throws(StoreError) in try connection.checkpoint() }, done: { result in
                let copied: Int
                switch result {
                case .success(let (logFrames, copiedFrames)):
                    copied = copiedFrames
                    self.logger.trace("checkpoint pass", metadata: ["log": "\(logFrames)", "copied": "\(copiedFrames)"])
                case .failure(let error):
                    copied = 0
                    // A store closing mid-round ends here too, and nothing is left to copy for.
                    if error.code != .closed {
                        self.logger.warning("background checkpoint failed", metadata: ["error": "\(error)"])
                    }
                }
                self.round.withLockedValue { round in
                    round.passRunning = false
                    round.copiedFrames = copied
                }
            })
        }
    }

    func shutdown() async {
        await self.worker.shutdown()
    }
}
