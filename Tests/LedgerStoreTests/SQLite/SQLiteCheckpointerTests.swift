import Foundation
import LedgerProtocol
import LedgerTestSupport
import Logging
import Testing

@testable import LedgerStore

/// The write-ahead log under steady writes, on a real file: copied back and started over, so it
/// stays short, with every event still in the database.
@Suite struct SQLiteCheckpointerTests {
    static let commits = 400
    static let eventsPerCommit = 10

    /// Writes `commits` batches and returns the size of the log file while the store is still open
    /// (closing checkpoints and removes it). The file is reused, not shrunk, when the log starts over,
    /// so its size is the longest the log ever got.
    static func logFileBytesAfterSteadyWrites(_ policy: SQLiteCheckpointer.Policy, in directory: TemporaryDirectory) async throws -> Int {
        let path = directory.file("ledger.sqlite")
        let store = try await SQLiteStore(path: path, migrations: nil, checkpoints: policy, logger: Logger(label: "test"))
        for commit in 0..<Self.commits {
            let events = (0..<Self.eventsPerCommit).map { index in
                LedgerEvent(
                    id: UUID(), timestamp: LedgerTimestamp(rawValue: Int64(commit * 100 + index)), eventType: "job_started",
                    entityType: "job", entityID: "job-\(commit)-\(index)", jobID: UUID(), clipID: UUID())
            }
            _ = try await store.insert(events)
        }
        let bytes = try FileManager.default.attributesOfItem(atPath: path + "-wal")[.size] as? Int ?? 0
        await store.close()
        #expect(try await sqlite(path, "SELECT count(*) FROM ledger_events") == "\(Self.commits * Self.eventsPerCommit)")
        return bytes
    }

    /// Each frame is a page and a 24-byte header; the log file starts with a 32-byte header.
    static func frames(inLogOf bytes: Int) -> Int {
        (bytes - 32) / (4096 + 24)
    }

    /// Without rounds the log holds every frame of the 400 commits, some 18,000 here (the last test);
    /// started over each round, a few hundred. The bound leaves room for a checkpoint thread that a
    /// busy machine runs late.
    static let shortLog = 2_000

    @Test func theWriterFinishesARoundOnceLittleIsLeft() async throws {
        let directory = try TemporaryDirectory("store")
        // A commit here writes some 45 frames, so after a pass what is left is soon under 100. With no
        // limit on the log, only that rule can end a round.
        let policy = SQLiteCheckpointer.Policy(startFrames: 40, finishFrames: 100, limitFrames: .max)
        let bytes = try await Self.logFileBytesAfterSteadyWrites(policy, in: directory)
        #expect(Self.frames(inLogOf: bytes) < Self.shortLog, "the log reached \(Self.frames(inLogOf: bytes)) frames")
    }

    @Test func theWriterEndsARoundThatBackgroundPassesCannotCatchUp() async throws {
        let directory = try TemporaryDirectory("store")
        // Nothing left over is ever small enough, so rounds end only at the limit.
        let policy = SQLiteCheckpointer.Policy(startFrames: 40, finishFrames: -1, limitFrames: 200)
        let bytes = try await Self.logFileBytesAfterSteadyWrites(policy, in: directory)
        #expect(Self.frames(inLogOf: bytes) < Self.shortLog, "the log reached \(Self.frames(inLogOf: bytes)) frames")
    }

    @Test func withoutRoundsTheLogKeepsGrowing() async throws {
        let directory = try TemporaryDirectory("store")
        // The yardstick for the two above: rounds that never start leave every frame in the log.
        let policy = SQLiteCheckpointer.Policy(startFrames: .max, finishFrames: 8, limitFrames: .max)
        let bytes = try await Self.logFileBytesAfterSteadyWrites(policy, in: directory)
        #expect(Self.frames(inLogOf: bytes) > 4 * Self.shortLog, "the log reached \(Self.frames(inLogOf: bytes)) frames")
    }
}
