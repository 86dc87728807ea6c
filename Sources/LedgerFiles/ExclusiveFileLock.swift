import Foundation
import Synchronization

/// A lock file that only one process (and one open store) can hold, as PostgreSQL's `postmaster.pid`.
///
/// SQLite's own locks let two daemons share one file, and then each keeps its own idea of what was
/// committed and which tails to tell; the ledger has one writer, so the second is refused at start.
/// The lock is `flock(2)` on the file, released by the kernel when the holder dies, so a stale file
/// never blocks a restart; the file holds the holder's pid for the message a second one prints.
public final class ExclusiveFileLock: Sendable {
    /// Why the lock could not be taken.
    public struct Refusal: Error, CustomStringConvertible, Sendable {
        public var description: String
    }

    public let path: String
    /// About a second of retries when the holder is this process (see `init`).
    static let attemptsWhileAChildStarts = 500
    /// -1 once released.
    private let descriptor: Mutex<Int32>

    /// Takes the lock at `path` (created, mode 0600, when missing) or throws naming who holds it.
    /// - Parameter guarding: what the lock protects, as the message names it ("the SQLite store /x/ledger.sqlite").
    public init(path: String, guarding: String) throws(Refusal) {
        let descriptor = open(path, O_RDWR | O_CREAT | O_CLOEXEC | O_NOFOLLOW, 0o600)
        guard descriptor >= 0 else {
            throw Refusal(description: "cannot open the lock file \(path) for \(guarding): \(String(cString: strerror(errno)))")
        }
        var attempts = 0
        while flock(descriptor, LOCK_EX | LOCK_NB) != 0 {
            let reason = errno
            let holder = Self.holder(descriptor)
            // A lock this process let go of a moment ago can still be held by a child it is starting:
            // between fork and exec the child shares the lock's open file. That passes in microseconds.
            attempts += 1
            if reason == EWOULDBLOCK, holder == getpid(), attempts < Self.attemptsWhileAChildStarts {
                usleep(2_000)
                continue
            }
            close(descriptor)
            guard reason == EWOULDBLOCK else {
                throw Refusal(description: "cannot lock \(path) for \(guarding): \(String(cString: strerror(reason)))")
            }
            let who = holder.map { $0 == getpid() ? "this process" : "pid \($0)" } ?? "another process"
            throw Refusal(description: "\(guarding) is in use by another ledgerd (\(who), holding \(path)); stop it, or give this one another --store")
        }
        let pid = "\(getpid())\n"
        _ = ftruncate(descriptor, 0)
        _ = pid.withCString { pwrite(descriptor, $0, strlen($0), 0) }
        self.path = path
        self.descriptor = Mutex(descriptor)
    }

    /// The pid written by the holder, when the file holds one.
    private static func holder(_ descriptor: Int32) -> pid_t? {
        var bytes = [UInt8](repeating: 0, count: 32)
        let count = pread(descriptor, &bytes, bytes.count, 0)
        guard count > 0 else { return nil }
        return pid_t(String(decoding: bytes[..<count], as: UTF8.self).trimmingCharacters(in: .whitespacesAndNewlines))
    }

    /// Lets the next holder in; the file stays, as a stale one does no harm.
    public func release() {
        self.descriptor.withLock { descriptor in
            if descriptor >= 0 { close(descriptor) }
            descriptor = -1
        }
    }

    deinit {
        self.release()
    }
}
