import Foundation

/// Listening sockets a service manager opened before starting the daemon (systemd's socket
/// activation, `sd_listen_fds` semantics), so clients that connect first wait in the backlog
/// instead of finding no socket.
public struct ActivatedSocket: Sendable, Equatable, CustomStringConvertible {
    public enum Address: Sendable, Equatable {
        /// A Unix stream socket with the path it is bound to.
        case unix(path: String)
        /// A TCP socket with its bound address, as `host:port` or `[host]:port`.
        case tcp(String)
    }

    public var descriptor: CInt
    /// The name from `LISTEN_FDNAMES` (systemd's `FileDescriptorName=`), or "unknown".
    public var name: String
    public var address: Address

    public init(descriptor: CInt, name: String, address: Address) {
        self.descriptor = descriptor
        self.name = name
        self.address = address
    }

    public var description: String {
        switch self.address {
        case .unix(let path): "fd \(self.descriptor) (\(self.name)): Unix socket \(path)"
        case .tcp(let address): "fd \(self.descriptor) (\(self.name)): TCP \(address)"
        }
    }
}

public enum SocketActivation {
    /// The first descriptor a service manager passes (`SD_LISTEN_FDS_START`).
    public static let firstDescriptor: CInt = 3
    static let variables = ["LISTEN_PID", "LISTEN_FDS", "LISTEN_FDNAMES"]

    public struct Problem: Error, CustomStringConvertible, Equatable {
        public var description: String
    }

    /// The sockets passed to this process, none when `LISTEN_PID` names another process (they
    /// were meant for a parent) or `LISTEN_FDS` or `LISTEN_PID` is unset.
    ///
    /// Each descriptor is checked to be a listening stream socket, Unix or TCP, and marked
    /// close-on-exec; a value that cannot be read is an error naming the variable, since a
    /// socket the manager meant for the daemon would otherwise be silently ignored.
    /// - Parameter descriptor: the descriptor of the socket at an index, `firstDescriptor` and on;
    ///   only tests, whose own sockets are elsewhere, give another.
    public static func sockets(
        environment: [String: String], processID: pid_t = getpid(), descriptor: (Int) -> CInt = { SocketActivation.firstDescriptor + CInt($0) }
    ) throws(Problem) -> [ActivatedSocket] {
        guard let countText = environment["LISTEN_FDS"], !countText.isEmpty else { return [] }
        // As sd_listen_fds: without LISTEN_PID the sockets cannot be known to be this process's.
        guard let pidText = environment["LISTEN_PID"], !pidText.isEmpty else { return [] }
        guard let pid = pid_t(pidText), pid > 0 else {
            throw Problem(description: "LISTEN_PID=\(pidText) is not a process id")
        }
        guard pid == processID else { return [] }
        guard let count = Int(countText), (0...1_024).contains(count) else {
            throw Problem(description: "LISTEN_FDS=\(countText) is not a count of descriptors (0 to 1024)")
        }
        // Names only label the sockets in messages (each is told apart by its address), so missing ones are "unknown".
        let given = (environment["LISTEN_FDNAMES"] ?? "").split(separator: ":", omittingEmptySubsequences: false).map(String.init)
        let names = (0..<count).map { $0 < given.count && !given[$0].isEmpty ? given[$0] : "unknown" }
        return try (0..<count).map { (index: Int) throws(Problem) -> ActivatedSocket in
            let descriptor = descriptor(index)
            let socket = ActivatedSocket(descriptor: descriptor, name: names[index], address: try Self.address(of: descriptor, name: names[index]))
            _ = fcntl(descriptor, F_SETFD, fcntl(descriptor, F_GETFD) | FD_CLOEXEC)
            return socket
        }
    }

    /// Clears the variables, so a process this one starts does not take the sockets for its own.
    public static func forgetEnvironment() {
        for name in Self.variables { unsetenv(name) }
    }

    private static func address(of descriptor: CInt, name: String) throws(Problem) -> ActivatedSocket.Address {
        func refuse(_ what: String) -> Problem {
            Problem(description: "socket activation passed fd \(descriptor) (\(name)), which \(what)")
        }
        var type: CInt = 0
        var listening: CInt = 0
        var length = socklen_t(MemoryLayout<CInt>.size)
        guard getsockopt(descriptor, SOL_SOCKET, SO_TYPE, &type, &length) == 0 else {
            throw refuse("is not a socket (\(String(cString: strerror(errno))))")
        }
        guard type == CInt(SOCK_STREAM.rawValue) else { throw refuse("is not a stream socket (ListenStream= in the socket unit)") }
        length = socklen_t(MemoryLayout<CInt>.size)
        guard getsockopt(descriptor, SOL_SOCKET, SO_ACCEPTCONN, &listening, &length) == 0, listening != 0 else {
            throw refuse("is not listening (Accept=no in the socket unit)")
        }
        var storage = sockaddr_storage()
        length = socklen_t(MemoryLayout<sockaddr_storage>.size)
        let named = withUnsafeMutablePointer(to: &storage) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { getsockname(descriptor, $0, &length) }
        }
        guard named == 0 else { throw refuse("has no address (\(String(cString: strerror(errno))))") }
        switch CInt(storage.ss_family) {
        case AF_UNIX:
            let path = withUnsafeBytes(of: &storage) { raw -> String in
                let offset = MemoryLayout<sockaddr_un>.offset(of: \.sun_path)!
                let bytes = raw[offset..<min(raw.count, Int(length))]
                return String(decoding: bytes.prefix { $0 != 0 }, as: UTF8.self)
            }
            guard !path.isEmpty else { throw refuse("is an unnamed or abstract Unix socket; ledgerd serves a socket file") }
            return .unix(path: path)
        case AF_INET, AF_INET6:
            return .tcp(Self.text(of: storage))
        default:
            throw refuse("is neither a Unix nor a TCP socket")
        }
    }

    private static func text(of storage: sockaddr_storage) -> String {
        var storage = storage
        var host = [CChar](repeating: 0, count: Int(NI_MAXHOST))
        var port = [CChar](repeating: 0, count: Int(NI_MAXSERV))
        let length = socklen_t(CInt(storage.ss_family) == AF_INET ? MemoryLayout<sockaddr_in>.size : MemoryLayout<sockaddr_in6>.size)
        _ = withUnsafePointer(to: &storage) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) {
                getnameinfo($0, length, &host, socklen_t(host.count), &port, socklen_t(port.count), NI_NUMERICHOST | NI_NUMERICSERV)
            }
        }
        func text(_ characters: [CChar]) -> String {
            String(decoding: characters.prefix { $0 != 0 }.map { UInt8(bitPattern: $0) }, as: UTF8.self)
        }
        let (hostText, portText) = (text(host), text(port))
        return hostText.contains(":") ? "[\(hostText)]:\(portText)" : "\(hostText):\(portText)"
    }
}
