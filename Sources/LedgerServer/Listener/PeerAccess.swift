import LedgerProtocol

/// What one connection's peer may do, decided when it connects.
struct PeerAccess: Sendable {
    /// Local peers log; remote (TLS) peers only read unless the daemon allows writes.
    var mayWrite: Bool
    /// Who the peer is, for logs and errors: a uid and pid, or a TLS address.
    var peer: String
    /// Stamped on every event the peer logs; nil for TLS peers.
    var credentials: PeerCredentials?

    static let local = PeerAccess(mayWrite: true, peer: "local peer", credentials: nil)

    static func local(_ credentials: PeerCredentials?) -> PeerAccess {
        guard let credentials else { return .local }
        return PeerAccess(mayWrite: true, peer: "uid \(credentials.uid) pid \(credentials.pid)", credentials: credentials)
    }
}

/// Why a peer may not connect at all.
struct PeerRefusal: Error {
    var description: String
}
