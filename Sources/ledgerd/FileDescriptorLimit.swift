import Foundation

/// Keeps the daemon's connection limits inside what the process may open.
///
/// At the file-descriptor limit `accept` fails while the socket stays readable, and the accept
/// loop wakes again at once: the daemon used a whole core and served nobody until descriptors
/// freed up. Raising the soft limit to the hard one, as systemd and most daemons do, and keeping
/// the connection budgets below it, means connections past a budget are accepted and turned away
/// with TOO_MANY_CONNECTIONS instead.
enum FileDescriptorLimit {
    /// Descriptors kept for the store, the log, the listeners and connections being turned away.
    static let reserve = 128

    /// Raises the soft limit as far as the hard limit allows, and returns the descriptors available.
    static func raise() -> Int {
        var limit = rlimit()
        guard getrlimit(Int32(RLIMIT_NOFILE.rawValue), &limit) == 0 else { return Int.max }
        if limit.rlim_cur < limit.rlim_max {
            var raised = limit
            raised.rlim_cur = limit.rlim_max
            if setrlimit(Int32(RLIMIT_NOFILE.rawValue), &raised) == 0 { limit = raised }
        }
        return Int(clamping: limit.rlim_cur)
    }

    /// The connection budgets scaled down, if need be, to fit `available` descriptors.
    /// - Returns: the socket's and the TLS listener's limits, and whether they were lowered.
    static func fit(socket: Int, tls: Int, available: Int) -> (socket: Int, tls: Int, lowered: Bool) {
        let room = max(2, available - Self.reserve)
        guard socket + tls > room else { return (socket, tls, false) }
        let tlsShare = tls == 0 ? 0 : max(1, min(tls, room / 16))
        return (max(1, room - tlsShare), tlsShare, true)
    }
}
