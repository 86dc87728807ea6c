import Foundation
import NIOConcurrencyHelpers

/// A datagram socket standing in for systemd's notification socket: what a daemon told its
/// service manager (`READY=1`, `STATUS=…`), one message per datagram.
///
/// A thread of its own reads every datagram as it arrives, as systemd does: a Unix datagram
/// socket queues only `net.unix.max_dgram_qlen` messages (10 by default outside systemd), and a
/// daemon's non-blocking send drops whatever finds the queue full, so a test that read only when
/// it looked would lose `STOPPING=1` behind a backlog of watchdog pings.
public final class NotifySocket: Sendable {
    /// As `NOTIFY_SOCKET` names it: a path, or `@name` in the abstract namespace.
    public let path: String
    private let state = NIOLockedValueBox(State())

    private struct State {
        var received: [String] = []
        /// How many of `received` the test has been handed.
        var consumed = 0
        var closed = false
    }

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
        guard descriptor >= 0, bound == 0 else {
            let failure = errno
            if descriptor >= 0 { _ = Glibc.close(descriptor) }
            throw Subprocess.Failure(command: ["bind \(path)"], errno: failure)
        }
        self.path = path
        let state = self.state
        Thread {
            Self.drain(descriptor, into: state)
            _ = Glibc.close(descriptor)
        }.start()
    }

    /// Reads datagrams until the socket is closed; polls in short steps so `close()` is seen.
    private static func drain(_ descriptor: Int32, into state: NIOLockedValueBox<State>) {
        var buffer = [UInt8](repeating: 0, count: 4_096)
        while !state.withLockedValue({ $0.closed }) {
            var poller = pollfd(fd: descriptor, events: Int16(POLLIN), revents: 0)
            guard poll(&poller, 1, 50) == 1 else { continue }
            let count = recv(descriptor, &buffer, buffer.count, 0)
            guard count >= 0 else { continue }
            let message = String(decoding: buffer.prefix(count), as: UTF8.self)
            state.withLockedValue { $0.received.append(message) }
        }
    }

    /// The next message not yet handed out, or nil when none comes within `timeout`.
    public func receive(waiting timeout: Duration) -> String? {
        let deadline = ContinuousClock.now + timeout
        while true {
            let next: String? = self.state.withLockedValue { state in
                guard state.consumed < state.received.count else { return nil }
                state.consumed += 1
                return state.received[state.consumed - 1]
            }
            if let next { return next }
            if ContinuousClock.now >= deadline { return nil }
            Thread.sleep(forTimeInterval: 0.01)
        }
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

    /// Stops reading; the reading thread closes the descriptor once it sees this.
    public func close() {
        self.state.withLockedValue { $0.closed = true }
        if !self.path.hasPrefix("@") { unlink(self.path) }
    }
}
