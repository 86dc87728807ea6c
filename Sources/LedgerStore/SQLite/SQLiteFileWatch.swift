import Foundation

/// Notices when the database file or its log is unlinked, replaced or truncated behind the daemon's back.
///
/// SQLite keeps writing to the files it has open; if someone deletes the `-wal` or moves another
/// database into place, every commit from then on lands in a file nobody will ever read again,
/// and acknowledging it would be a lie. A truncated file has lost what was committed to it. After
/// each commit the writer compares what is at the paths with the files it opened: two `stat`
/// calls, against a commit's sync. The log never shrinks while ledgerd runs: it is reused from its
/// start after a checkpoint, never cut (no `journal_size_limit`, no TRUNCATE checkpoints). The
/// database shrinks only once the store has given freed pages back (incremental vacuum, after a
/// retention pass), when a checkpoint cuts the file to its new size; from then on a smaller
/// database file is SQLite's own doing and only its replacement or deletion is a change.
final class SQLiteFileWatch {
    private struct Identity: Equatable {
        var device: UInt64
        var inode: UInt64

        static func == (lhs: Identity, rhs: Identity) -> Bool {
            lhs.device == rhs.device && lhs.inode == rhs.inode
        }
    }

    private struct Seen {
        var identity: Identity
        var size: Int64
    }

    private let path: String
    private var database: Seen?
    private var log: Seen?
    private var databaseMayShrink = false

    init(path: String) {
        self.path = path
        self.database = Self.seen(path)
    }

    private static func seen(_ path: String) -> Seen? {
        var info = stat()
        guard stat(path, &info) == 0 else { return nil }
        return Seen(identity: Identity(device: UInt64(info.st_dev), inode: UInt64(info.st_ino)), size: Int64(info.st_size))
    }

    /// Called once the store has run an incremental vacuum, whose checkpoints cut the database file.
    func allowDatabaseToShrink() {
        self.databaseMayShrink = true
    }

    /// What happened to the file at `path` since `known`, or nil when it is the same file, no smaller
    /// (or smaller, when `mayShrink`).
    private static func change(at path: String, now: Seen?, known: Seen, mayShrink: Bool = false) -> String? {
        guard let now else { return "\(path) was deleted while ledgerd was writing it" }
        guard now.identity == known.identity else { return "\(path) was replaced by another file while ledgerd was writing it" }
        guard now.size >= known.size || mayShrink else {
            return "\(path) was truncated from \(known.size) to \(now.size) bytes while ledgerd was writing it"
        }
        return nil
    }

    /// What changed, or nil when the paths still lead to the files being written, none of them
    /// smaller. The log is known from the first check after it exists.
    func problem() -> String? {
        guard let knownDatabase = self.database else { return "\(self.path) was not there when ledgerd opened it" }
        let database = Self.seen(self.path)
        if let change = Self.change(at: self.path, now: database, known: knownDatabase, mayShrink: self.databaseMayShrink) { return change }
        self.database = database
        let logPath = self.path + "-wal"
        let log = Self.seen(logPath)
        if let known = self.log, let change = Self.change(at: logPath, now: log, known: known) { return change }
        self.log = log
        return nil
    }
}
