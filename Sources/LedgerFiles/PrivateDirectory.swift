import Foundation

/// The directories the daemon keeps its socket and its data in, and that clients find it through.
///
/// A directory another user owns, or may write in, lets that user read the ledger, move the socket
/// aside and answer in the daemon's place. So, as OpenSSH does with `~/.ssh` and the XDG base
/// directory specification does with `$XDG_RUNTIME_DIR`, such a directory is refused, never used.
public enum PrivateDirectory {
    /// What is wrong with a directory, and what to do about it.
    public struct Problem: Error, CustomStringConvertible, Sendable {
        public var description: String
    }

    /// Mode of the directories the daemon creates: the group may enter (to reach the socket) and read.
    public static let creationMode: mode_t = 0o750

    /// Creates the directory when it is missing, or checks the one there.
    ///
    /// - Parameters:
    ///   - purpose: what the directory is for, as the error names it ("socket directory").
    ///   - owner: the user the directory must belong to (or root).
    ///   - creating: whether a missing directory is made (with its parents). Only a default location is:
    ///     a path the user typed whose directory is missing is more likely a typo than a wish.
    public static func prepare(_ path: String, purpose: String, owner: uid_t = getuid(), creating: Bool = true) throws(Problem) {
        var info = stat()
        if lstat(path, &info) != 0, errno == ENOENT {
            guard creating else {
                throw Problem(description: "the \(purpose) \(path) does not exist; create it, or check the path")
            }
            do {
                let parent = (path as NSString).deletingLastPathComponent
                if !parent.isEmpty { try FileManager.default.createDirectory(atPath: parent, withIntermediateDirectories: true) }
            } catch {
                throw Problem(description: "cannot create the \(purpose) \(path): \(error.localizedDescription)")
            }
            if mkdir(path, Self.creationMode) != 0, errno != EEXIST {
                throw Problem(description: "cannot create the \(purpose) \(path): \(String(cString: strerror(errno)))")
            }
        }
        if let problem = Self.problem(with: path, purpose: purpose, owner: owner) { throw problem }
    }

    /// Why the directory may not be trusted, or nil when it may: it must be a directory (not a
    /// link to one), owned by `owner` or root, and writable by nobody else.
    public static func problem(with path: String, purpose: String, owner: uid_t = getuid()) -> Problem? {
        var info = stat()
        guard lstat(path, &info) == 0 else {
            return Problem(description: "the \(purpose) \(path) cannot be read: \(String(cString: strerror(errno)))")
        }
        let advice = "remove it, or choose another place (--socket / LEDGER_SOCKET, XDG_RUNTIME_DIR, --store)"
        guard info.st_mode & S_IFMT == S_IFDIR else {
            return Problem(description: "the \(purpose) \(path) is not a directory (a link is not trusted); \(advice)")
        }
        guard info.st_uid == owner || info.st_uid == 0 else {
            return Problem(
                description: "the \(purpose) \(path) belongs to uid \(info.st_uid), not to uid \(owner) that runs this; another user may have made it to intercept the ledger: \(advice)")
        }
        guard info.st_mode & (S_IWGRP | S_IWOTH) == 0 else {
            return Problem(
                description: "the \(purpose) \(path) is writable by \(info.st_mode & S_IWOTH != 0 ? "every user" : "its group") (mode \(String(info.st_mode & 0o7777, radix: 8))): \(advice), or chmod go-w \(path)")
        }
        return nil
    }
}
