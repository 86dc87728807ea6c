import Foundation

/// A datagram socket standing in for systemd's notification socket: what a daemon told its
/// service manager (`READY=1`, `STATUS=…`), one message per datagram.
public final class NotifySocket: Sendable {
    /// As `NOTIFY_SOCKET` names it: a path, or `@name` in the abstract namespace.
    public let path: String
    private let descriptor: Int32

    public init(path: String) throws {
        let descriptor = socket(AF_UNIX, Int32(SOCK_DGRAM.rawValue) | Int32(SOCK_CLOEXEC.rawValue), 0)
        var address = sockaddr_un()
        address.sun_family = sa_family_t(AF_UNIX)
        var bytes = Array(path.utf8)
        if bytes.first == UInt8(ascii: "@") { bytes[0] = 0 }
        withUnsafeMutableBytes(of: &address.sun_path) { raw in raw.copyBytes(from: bytes) }
        let length = MemoryLayout<sockaddr_un>.offset(of: \.sun_path)! + bytes.count + (bytes[0] == 0 ? 0 : 1)
        let bound = withUnsafePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { bind(descriptor, $0, socklen_t(length)) }
        }
        guard descriptor >= 0, bound == 0 else { throw Subprocess.Failure(command: ["bind \(path)"], errno: errno) }
        self.path = path
        self.descriptor = descriptor
    }

    /// The next message, or nil when none comes within `timeout`.
    public func receive(waiting timeout: Duration) -> String? {
        var poller = pollfd(fd: self.descriptor, events: Int16(POLLIN), revents: 0)
        let milliseconds = Int32(timeout.components.seconds * 1_000 + timeout.components.attoseconds / 1_000_000_000_000_000)
        guard poll(&poller, 1, milliseconds) == 1 else { return nil }
        var buffer = [UInt8](repeating: 0, count: 4_096)
        let count = recv(self.descriptor, &buffer, buffer.count, 0)
        return count < 0 ? nil : String(decoding: buffer.prefix(count), as: UTF8.self)
    }

    /// Messages until one contains `assignment` (returned last), or until `timeout` passes (nil).
    public func messages(until assignment: String, waiting timeout: Duration) async throws -> [String]? {
        try await self.messages(waiting: timeout) { $0.split(separator: "\n").contains(Substring(assignment)) }
    }

    /// Messages until one satisfies `wanted` (returned last), or until `timeout` passes (nil).
    /// Waits on a thread of its own, so the cooperative pool is never blocked.
    public func messages(waiting timeout: Duration, until wanted: @escaping @Sendable (String) -> Bool) async throws -> [String]? {
        try await onThreadOfItsOwn {
            let deadline = ContinuousClock.now + timeout
            var seen: [String] = []
            while ContinuousClock.now < deadline {
                guard let message = self.receive(waiting: deadline - ContinuousClock.now) else { break }
                seen.append(message)
                if wanted(message) { return seen }
            }
            return nil
        }
    }

    public func close() {
        _ = Glibc.close(self.descriptor)
        if !self.path.hasPrefix("@") { unlink(self.path) }
    }
}
