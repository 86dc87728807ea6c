import Foundation

/// Who may connect, for the message a refused user sees instead of a bare "Permission denied".
enum SocketPermission {
    /// Names the file that refused (the socket or its directory), its mode, and the group whose members it lets in.
    static func explanation(for path: String) -> String {
        let directory = (path as NSString).deletingLastPathComponent
        var info = stat()
        let refusing: (path: String, what: String)
        if stat(path, &info) == 0 {
            refusing = (path, "the socket")
        } else if stat(directory, &info) == 0 {
            refusing = (directory, "the socket's directory")
        } else {
            return "permission denied"
        }
        let group = getgrgid(info.st_gid).map { String(cString: $0.pointee.gr_name) } ?? "gid \(info.st_gid)"
        let owner = getpwuid(info.st_uid).map { String(cString: $0.pointee.pw_name) } ?? "uid \(info.st_uid)"
        let mode = String(info.st_mode & 0o777, radix: 8)
        let groupMayEnter = info.st_mode & (refusing.what == "the socket" ? S_IWGRP : S_IXGRP) != 0
        let who = groupMayEnter ? "its owner \(owner) and members of group \(group)" : "only its owner \(owner)"
        return "permission denied: \(refusing.what) \(refusing.path) (mode \(mode)) lets in \(who)"
    }
}
