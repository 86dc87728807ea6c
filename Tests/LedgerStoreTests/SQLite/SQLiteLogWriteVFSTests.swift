import Foundation
import LedgerTestSupport
import Testing

@testable import LedgerStore

/// The writer's log writes, gathered by `SQLiteLogWriteVFS`, on a real file: every commit must be
/// whole on the file when it returns, and the log must read back after a crash.
@Suite struct SQLiteLogWriteVFSTests {
    /// A connection set up as the store's writer: through the VFS, in WAL mode, commits not synced.
    static func writer(_ path: String, cachePages: Int = 2_000) throws -> SQLiteConnection {
        let connection = try SQLiteConnection(path: path, vfs: SQLiteLogWriteVFS.register())
        try connection.execute("PRAGMA journal_mode=WAL")
        try connection.execute("PRAGMA synchronous=NORMAL")
        try connection.execute("PRAGMA cache_size=\(cachePages)")
        try connection.execute("CREATE TABLE IF NOT EXISTS t (k BLOB NOT NULL, v TEXT NOT NULL)")
        try connection.execute("CREATE INDEX IF NOT EXISTS t_k ON t (k)")
        return connection
    }

    /// Commits `rows` rows with random keys, so that they dirty pages all over the index.
    static func commit(_ rows: Int, on connection: SQLiteConnection) throws {
        try connection.execute(
            """
            INSERT INTO t (k, v) WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < \(rows))
            SELECT randomblob(16), printf('%.*c', 40 + i % 60, 'v') FROM n
            """)
    }

    /// The rows and their bytes, to tell two copies of the table apart.
    static let summary = "SELECT count(*) || ' ' || sum(length(v)) FROM t"

    /// Another process reads `rows` rows from the live files, and the same from the database and its
    /// log copied aside without the shared-memory index, as a crash would leave them: the sqlite3
    /// shell then rebuilds the index from the log, keeping frames only as far as their checksums hold.
    static func expectReadsBackWhole(
        _ path: String, rows: Int, in directory: TemporaryDirectory, sourceLocation: SourceLocation = #_sourceLocation
    ) async throws {
        let live = try await sqlite(path, Self.summary)
        #expect(live.hasPrefix("\(rows) "), sourceLocation: sourceLocation)
        let copy = directory.file("copy-\(UUID().uuidString.prefix(8)).sqlite")
        try FileManager.default.copyItem(atPath: path, toPath: copy)
        try FileManager.default.copyItem(atPath: path + "-wal", toPath: copy + "-wal")
        #expect(try await sqlite(copy, "PRAGMA integrity_check; " + Self.summary) == "ok\n" + live, sourceLocation: sourceLocation)
    }

    static func logBytes(_ path: String) throws -> Int {
        try FileManager.default.attributesOfItem(atPath: path + "-wal")[.size] as? Int ?? 0
    }

    @Test func eachCommitIsOnTheFileWhenItReturns() async throws {
        let directory = try TemporaryDirectory("store")
        let path = directory.file("log.sqlite")
        let connection = try Self.writer(path)
        for _ in 0..<40 {
            try Self.commit(250, on: connection)
            #expect(connection.logIsWritten)
        }
        // The writer still holds the files open.
        try await Self.expectReadsBackWhole(path, rows: 10_000, in: directory)
    }

    /// A transaction larger than the page cache spills pages to the log before it commits, and
    /// writes some of them again: SQLite then overwrites those frames in place and rewrites the
    /// checksums after them once the commit frame is written.
    @Test func aTransactionLargerThanTheCacheReadsBackWhole() async throws {
        let directory = try TemporaryDirectory("store")
        let path = directory.file("log.sqlite")
        let connection = try Self.writer(path, cachePages: 16)
        try Self.commit(100, on: connection)
        try connection.execute("BEGIN IMMEDIATE")
        try Self.commit(20_000, on: connection)
        try connection.execute("UPDATE t SET v = v || 'w' WHERE rowid % 7 = 0")
        try Self.commit(3_000, on: connection)
        try connection.execute("COMMIT")
        #expect(connection.logIsWritten)
        try Self.commit(100, on: connection)
        #expect(connection.logIsWritten)
        try await Self.expectReadsBackWhole(path, rows: 23_200, in: directory)
    }

    /// Once a checkpoint has copied the whole log back, the next commit writes the log from its start
    /// again, header first, over the old frames.
    @Test func theLogStartsOverFromItsFirstByte() async throws {
        let directory = try TemporaryDirectory("store")
        let path = directory.file("log.sqlite")
        let connection = try Self.writer(path)
        for _ in 0..<10 { try Self.commit(500, on: connection) }
        let grown = try Self.logBytes(path)
        #expect(try await sqlite(path, "PRAGMA wal_checkpoint(RESTART)").hasPrefix("0|"))
        for _ in 0..<3 { try Self.commit(500, on: connection) }
        #expect(connection.logIsWritten)
        let reused = try Self.logBytes(path)
        #expect(reused == grown, "the log file is written over from its start, not extended")
        try await Self.expectReadsBackWhole(path, rows: 6_500, in: directory)
    }
}
