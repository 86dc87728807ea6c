/// Where the daemon and its clients meet when nobody says otherwise.
///
/// Pure functions of the environment and the user id, so the daemon and every
/// client compute the same path and tests can pass their own environment.
public enum LedgerDefaults {
    /// This release, as `--version` and `ping` print it.
    public static let version = "0.1.0"

    /// Where a system ledgerd (root's, or the systemd unit's) listens.
    public static let systemSocketPath = "/run/ledgerd/ledgerd.sock"

    /// `$LEDGER_SOCKET`; else `$XDG_RUNTIME_DIR/ledgerd.sock`; else `/run/ledgerd/ledgerd.sock`
    /// for root; else `/tmp/ledgerd-<uid>/ledgerd.sock`. Every one is creatable by its user; the daemon and the
    /// clients refuse the directory when another user owns it or may write in it (`PrivateDirectory`).
    public static func socketPath(environment: [String: String], userID: UInt32) -> String {
        if let explicit = environment["LEDGER_SOCKET"], !explicit.isEmpty { return explicit }
        if let runtime = environment["XDG_RUNTIME_DIR"], !runtime.isEmpty { return "\(runtime)/ledgerd.sock" }
        if userID == 0 { return Self.systemSocketPath }
        return "/tmp/ledgerd-\(userID)/ledgerd.sock"
    }

    /// Where a client looks, in order: `$LEDGER_SOCKET` alone when set; else this user's default
    /// path, then the system daemon's, so an operator finds a system ledgerd without `--socket`.
    public static func clientSocketCandidates(environment: [String: String], userID: UInt32) -> [String] {
        let own = self.socketPath(environment: environment, userID: userID)
        if let explicit = environment["LEDGER_SOCKET"], !explicit.isEmpty { return [explicit] }
        return own == self.systemSocketPath ? [own] : [own, self.systemSocketPath]
    }

    /// `$XDG_DATA_HOME/socialsync-ledger/ledger.sqlite`, `~/.local/share/...` for users, `/var/lib/socialsync-ledger/...` for root;
    /// nil when there is no home to keep it in. Never a shared directory such as /tmp: other users could read or replace it there.
    public static func sqlitePath(environment: [String: String], userID: UInt32) -> String? {
        if let data = environment["XDG_DATA_HOME"], !data.isEmpty { return "\(data)/socialsync-ledger/ledger.sqlite" }
        if userID == 0 { return "/var/lib/socialsync-ledger/ledger.sqlite" }
        if let home = environment["HOME"], !home.isEmpty { return "\(home)/.local/share/socialsync-ledger/ledger.sqlite" }
        return nil
    }
}
