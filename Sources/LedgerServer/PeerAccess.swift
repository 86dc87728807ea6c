/// What one connection's peer may do, decided when it connects.
struct PeerAccess: Sendable {
    /// Local peers log; remote (TLS) peers only read unless the daemon allows writes.
    var mayWrite: Bool
    /// Who the peer is, for logs: a uid and pid, or a certificate subject.
    var peer: String

    static let local = PeerAccess(mayWrite: true, peer: "local")
}
