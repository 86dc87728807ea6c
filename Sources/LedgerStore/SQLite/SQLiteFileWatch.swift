import Foundation

/// Notices when the database file or its log is unlinked or replaced behind the daemon's back.
///
/// SQLite keeps writing to the files it has open; if someone deletes the `-wal` or moves another
/// database into place, every commit from then on lands in a file nobody will ever read again,
/// and acknowledging it would be a lie. After each commit the writer compares what is at the
/// paths with the files it opened: two `stat` calls, against a commit's sync.
final class SQLiteFileWatch {
    private struct Identity: Equatable {
        var device: UInt64
        var inode: UInt64
    }

    private let path: String
    private var database: Identity?
    private var log: Identity?

    init(path: String) {
        self.path = path
        self.database = Self.identity(of: path)
    }

    private static func identity(of path: String) -> Identity? {
        var info = stat()
        guard stat(path, &info) == 0 else { return nil }
        return Identity(device: UInt64(info.st_dev), inode: UInt64(info.st_ino))
    }

    /// What changed, or nil when the paths still lead to the files being written. The log is known
    /// from the first check after it exists; SQLite keeps it, and reuses it, for as long as it runs.
    func problem() -> String? {
        let database = Self.identity(of: self.path)
        if database == nil || database != self.database {
            return "\(self.path) was \(database == nil ? "deleted" : "replaced by another file") while ledgerd was writing it"
        }
        let logPath = self.path + "-wal"
        let log = Self.identity(of: logPath)
        guard let known = self.log else {
            self.log = log
            return nil
        }
        if log != known {
            return "\(logPath) was \(log == nil ? "deleted" : "replaced by another file") while ledgerd was writing it"
        }
        return nil
    }
}
