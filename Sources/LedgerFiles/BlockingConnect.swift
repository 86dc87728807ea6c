import Foundation

/// A plain blocking connect, for the places that need a socket with no event loop: the daemon
/// checking whether another one answers on its socket path, and the peers tools and tests play.
public enum BlockingConnect {
    /// A connected Unix-socket descriptor, or nil (with `errno` as connect left it) when nothing accepts on `path`.
    public static func unix(_ path: String) -> Int32? {
        let descriptor = socket(AF_UNIX, Int32(SOCK_STREAM.rawValue), 0)
        var address = sockaddr_un()
        address.sun_family = sa_family_t(AF_UNIX)
        withUnsafeMutableBytes(of: &address.sun_path) { raw in
            let bytes = Array(path.utf8.prefix(raw.count - 1))
            raw.copyBytes(from: bytes)
            raw[bytes.count] = 0
        }
        let result = withUnsafePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { connect(descriptor, $0, socklen_t(MemoryLayout<sockaddr_un>.size)) }
        }
        return Self.connected(descriptor, result)
    }

    /// A connected TCP descriptor to 127.0.0.1, or nil when nothing accepts on `port`.
    public static func loopback(port: Int) -> Int32? {
        let descriptor = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        var address = sockaddr_in()
        address.sin_family = sa_family_t(AF_INET)
        address.sin_port = in_port_t(UInt16(port).bigEndian)
        address.sin_addr.s_addr = inet_addr("127.0.0.1")
        let result = withUnsafePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { connect(descriptor, $0, socklen_t(MemoryLayout<sockaddr_in>.size)) }
        }
        return Self.connected(descriptor, result)
    }

    private static func connected(_ descriptor: Int32, _ result: Int32) -> Int32? {
        guard descriptor >= 0 else { return nil }
        guard result == 0 else {
            let saved = errno
            close(descriptor)
            errno = saved
            return nil
        }
        return descriptor
    }
}
