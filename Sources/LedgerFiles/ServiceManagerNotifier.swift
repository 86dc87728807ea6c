import Foundation

/// Tells a service manager how the daemon is doing, as `sd_notify` does: one datagram of
/// newline-separated assignments (`READY=1`, `STATUS=…`) to the socket `NOTIFY_SOCKET` names.
///
/// Without `NOTIFY_SOCKET` every call does nothing, so the daemon runs the same under systemd,
/// another supervisor, or a terminal. A send never blocks: a manager that stops reading costs the
/// daemon a lost status line, never a stalled thread.
public struct ServiceManagerNotifier: Sendable {
    public struct Problem: Error, CustomStringConvertible, Equatable {
        public var description: String
    }

    /// The socket path, with a leading NUL for Linux's abstract namespace (`@` in the variable).
    private let path: [UInt8]?
    /// How often the manager expects `WATCHDOG=1`, from `WATCHDOG_USEC` when it is meant for this process.
    public let watchdogInterval: Duration?

    /// - Throws: when `NOTIFY_SOCKET` or `WATCHDOG_USEC` is set to something no manager would set,
    ///   naming it, since a daemon that silently never reports ready is killed at the start timeout.
    public init(environment: [String: String], processID: pid_t = getpid()) throws(Problem) {
        if let socket = environment["NOTIFY_SOCKET"], !socket.isEmpty {
            var bytes = Array(socket.utf8)
            guard bytes.first == UInt8(ascii: "/") || bytes.first == UInt8(ascii: "@") else {
                throw Problem(description: "NOTIFY_SOCKET=\(socket) is neither an absolute path nor an abstract name (@name)")
            }
            if bytes[0] == UInt8(ascii: "@") { bytes[0] = 0 }
            guard bytes.count < MemoryLayout.size(ofValue: sockaddr_un().sun_path) else {
                throw Problem(description: "NOTIFY_SOCKET=\(socket) is longer than a Unix socket path can be")
            }
            self.path = bytes
        } else {
            self.path = nil
        }
        var watchdog: Duration?
        if let text = environment["WATCHDOG_USEC"], !text.isEmpty {
            guard let microseconds = Int64(text), microseconds > 0 else {
                throw Problem(description: "WATCHDOG_USEC=\(text) is not a positive number of microseconds")
            }
            let pid = environment["WATCHDOG_PID"].flatMap { $0.isEmpty ? nil : pid_t($0) }
            if pid == nil || pid == processID { watchdog = .microseconds(microseconds) }
        }
        self.watchdogInterval = self.path == nil ? nil : watchdog
    }

    /// True when a service manager listens for these messages.
    public var isActive: Bool { self.path != nil }

    /// Sends the assignments as one datagram.
    /// - Returns: false when there is no manager or the datagram could not be sent.
    @discardableResult
    public func notify(_ assignments: [String]) -> Bool {
        guard let path = self.path else { return false }
        let descriptor = socket(AF_UNIX, Int32(SOCK_DGRAM.rawValue) | Int32(SOCK_CLOEXEC.rawValue), 0)
        guard descriptor >= 0 else { return false }
        defer { close(descriptor) }
        var address = sockaddr_un()
        address.sun_family = sa_family_t(AF_UNIX)
        withUnsafeMutableBytes(of: &address.sun_path) { raw in raw.copyBytes(from: path) }
        // An abstract name's length is exact; a path's includes its terminating NUL.
        let length = MemoryLayout<sockaddr_un>.offset(of: \.sun_path)! + path.count + (path[0] == 0 ? 0 : 1)
        let message = Array(assignments.joined(separator: "\n").utf8)
        let sent = message.withUnsafeBytes { bytes in
            withUnsafePointer(to: &address) {
                $0.withMemoryRebound(to: sockaddr.self, capacity: 1) {
                    sendto(descriptor, bytes.baseAddress, bytes.count, Int32(MSG_DONTWAIT | MSG_NOSIGNAL), $0, socklen_t(length))
                }
            }
        }
        return sent == message.count
    }

    /// A status line as the manager shows it (`systemctl status`): one line, no newline inside.
    public static func status(_ text: String) -> String {
        "STATUS=" + text.split(whereSeparator: \.isNewline).joined(separator: " ")
    }
}
