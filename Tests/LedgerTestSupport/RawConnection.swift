import Foundation
import LedgerFiles

/// Plain blocking sockets, as a hostile or careless peer opens them, with no client library between.
public enum RawConnection {
    /// A connected Unix-socket descriptor, or nil when nothing accepts on `path`.
    public static func unix(_ path: String) -> Int32? {
        BlockingConnect.unix(path)
    }

    /// A connected TCP descriptor to 127.0.0.1, or nil when nothing accepts on `port`.
    public static func tcp(port: Int) -> Int32? {
        BlockingConnect.loopback(port: port)
    }

    /// A Unix socket bound to `path` (listening unless asked not to), as another daemon or a
    /// service manager leaves one there; throws with the errno when it cannot be made.
    public static func unixListener(at path: String, type: Int32 = Int32(SOCK_STREAM.rawValue), listening: Bool = true) throws -> Int32 {
        let descriptor = socket(AF_UNIX, type, 0)
        var address = sockaddr_un()
        address.sun_family = sa_family_t(AF_UNIX)
        withUnsafeMutableBytes(of: &address.sun_path) { raw in
            let bytes = Array(path.utf8.prefix(raw.count - 1))
            raw.copyBytes(from: bytes)
            raw[bytes.count] = 0
        }
        let bound = withUnsafePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { bind(descriptor, $0, socklen_t(MemoryLayout<sockaddr_un>.size)) }
        }
        guard descriptor >= 0, bound == 0, !listening || listen(descriptor, 8) == 0 else {
            throw POSIXError(POSIXErrorCode(rawValue: errno) ?? .EIO)
        }
        return descriptor
    }
}
