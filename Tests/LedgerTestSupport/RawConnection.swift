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
}
