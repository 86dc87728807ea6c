import Foundation
import LedgerProtocol
import NIOCore

extension PeerCredentials {
    /// The kernel's view of the process at the other end of a Unix socket (SO_PEERCRED); nil for TCP.
    static func of(_ channel: any Channel) async -> PeerCredentials? {
        #if os(Linux)
        guard let provider = channel as? any SocketOptionProvider else { return nil }
        let future: EventLoopFuture<KernelCredentials> = provider.unsafeGetSocketOption(
            level: NIOBSDSocket.OptionLevel(rawValue: SOL_SOCKET), name: NIOBSDSocket.Option(rawValue: SO_PEERCRED))
        guard let credentials = try? await future.get() else { return nil }
        return PeerCredentials(uid: credentials.uid, pid: credentials.pid)
        #else
        return nil
        #endif
    }
}

/// Linux's `struct ucred` (pid, uid, gid), which Glibc's module does not export without _GNU_SOURCE.
private struct KernelCredentials: Sendable {
    var pid: Int32
    var uid: UInt32
    var gid: UInt32
}
