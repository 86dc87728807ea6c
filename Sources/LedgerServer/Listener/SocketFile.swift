import Foundation
import LedgerFiles

/// Prepares the path a Unix socket will be bound to.
///
/// A socket file left by a daemon that died is removed; a live daemon on the
/// path, or a path that is not a socket, stops start-up instead of being clobbered.
enum SocketFile {
    struct Error: Swift.Error, CustomStringConvertible {
        var description: String
    }

    static func prepare(path: String, creatingDirectory: Bool = true) throws {
        guard path.utf8.count < MemoryLayout.size(ofValue: sockaddr_un().sun_path) else {
            throw Error(description: "socket path \(path) is longer than the \(MemoryLayout.size(ofValue: sockaddr_un().sun_path) - 1)-byte limit of Unix sockets")
        }
        let directory = (path as NSString).deletingLastPathComponent
        do throws(PrivateDirectory.Problem) {
            try PrivateDirectory.prepare(directory.isEmpty ? "." : directory, purpose: "socket directory", creating: creatingDirectory)
        } catch {
            throw Error(description: error.description)
        }
        var info = stat()
        guard lstat(path, &info) == 0 else { return }
        guard info.st_mode & S_IFMT == S_IFSOCK else {
            throw Error(description: "\(path) exists and is not a socket; refusing to replace it")
        }
        if Self.answers(path: path) {
            throw Error(description: "another ledgerd is already listening on \(path)")
        }
        guard unlink(path) == 0 || errno == ENOENT else {
            throw Error(description: "cannot remove stale socket \(path): \(String(cString: strerror(errno)))")
        }
    }

    /// True when something accepts connections on the socket.
    static func answers(path: String) -> Bool {
        guard let descriptor = BlockingConnect.unix(path) else { return false }
        close(descriptor)
        return true
    }
}
