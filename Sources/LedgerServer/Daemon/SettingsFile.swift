import Foundation

/// A file of `LEDGER_*=value` lines (`--config`), in the format of a systemd `EnvironmentFile=`:
/// one assignment per line, `#` comments, blank lines, a value optionally in single or double
/// quotes. It is read at start and again on SIGHUP, which is what makes it reloadable.
public enum SettingsFile {
    /// Every variable the settings read: a name not among them is a typo, not a setting.
    public static let variables: Set<String> = [
        "LEDGER_ALLOW_UID", "LEDGER_COMMIT_BATCH", "LEDGER_COMMIT_DELAY_MS", "LEDGER_FRAME_DEADLINE", "LEDGER_IDLE_TIMEOUT",
        "LEDGER_LOG_LEVEL", "LEDGER_MAX_ANSWER_BYTES", "LEDGER_MAX_BATCH_EVENTS", "LEDGER_MAX_CONNECTIONS", "LEDGER_MAX_FRAME_BYTES",
        "LEDGER_MAX_QUERY_LIMIT", "LEDGER_METRICS_LISTEN", "LEDGER_QUERY_TIMEOUT", "LEDGER_QUEUE_BYTES", "LEDGER_QUEUE_CAPACITY",
        "LEDGER_READERS", "LEDGER_RETAIN", "LEDGER_RETAIN_INTERVAL", "LEDGER_SIGNING_KEY", "LEDGER_SOCKET", "LEDGER_SOCKET_MODE", "LEDGER_STORE",
        "LEDGER_STORE_CHECK_INTERVAL", "LEDGER_TAIL_BUFFER_BYTES", "LEDGER_TLS_ALLOW_WRITES", "LEDGER_TLS_CERT", "LEDGER_TLS_CLIENT_CA",
        "LEDGER_TLS_HANDSHAKE_TIMEOUT", "LEDGER_TLS_KEY", "LEDGER_TLS_LISTEN", "LEDGER_TLS_MAX_CONNECTIONS",
    ]
    /// What SIGHUP applies from the file; every other change waits for a restart.
    public static let reloadable: Set<String> = ["LEDGER_LOG_LEVEL", "LEDGER_RETAIN"]

    /// A larger file is not a settings file.
    static let maximumBytes = 64 * 1024

    public static func read(_ path: String) throws(LedgerDaemonSettings.Error) -> [String: String] {
        guard let data = FileManager.default.contents(atPath: path) else {
            let reason = FileManager.default.fileExists(atPath: path) ? "is not readable" : "does not exist"
            throw LedgerDaemonSettings.Error(description: "--config \(path) \(reason)")
        }
        guard data.count <= Self.maximumBytes else {
            throw LedgerDaemonSettings.Error(description: "--config \(path) is \(data.count) bytes; a settings file is at most \(Self.maximumBytes)")
        }
        guard let text = String(data: data, encoding: .utf8) else {
            throw LedgerDaemonSettings.Error(description: "--config \(path) is not UTF-8 text")
        }
        return try Self.parse(text, path: path)
    }

    static func parse(_ text: String, path: String) throws(LedgerDaemonSettings.Error) -> [String: String] {
        var values: [String: String] = [:]
        for (index, raw) in text.split(separator: "\n", omittingEmptySubsequences: false).enumerated() {
            func refuse(_ what: String) -> LedgerDaemonSettings.Error {
                LedgerDaemonSettings.Error(description: "\(path) line \(index + 1): \(what)")
            }
            var line = raw.trimmingCharacters(in: .whitespaces)
            if line.isEmpty || line.hasPrefix("#") || line.hasPrefix(";") { continue }
            if line.hasPrefix("export ") { line = String(line.dropFirst("export ".count)).trimmingCharacters(in: .whitespaces) }
            guard let equals = line.firstIndex(of: "=") else { throw refuse("'\(line)' is not NAME=value") }
            let name = line[..<equals].trimmingCharacters(in: .whitespaces)
            var value = line[line.index(after: equals)...].trimmingCharacters(in: .whitespaces)
            guard Self.variables.contains(name) else {
                let hint = name.hasPrefix("LEDGER_") ? "ledgerd has no setting \(name)" : "\(name) is not a ledgerd setting (they begin with LEDGER_)"
                throw refuse(hint + "; `ledgerd --help` lists them")
            }
            if let quote = value.first, quote == "\"" || quote == "'" {
                guard value.count >= 2, value.last == quote else { throw refuse("the value of \(name) opens a quote it does not close") }
                value = String(value.dropFirst().dropLast())
            }
            guard values.updateValue(value, forKey: name) == nil else { throw refuse("\(name) is set twice") }
        }
        return values
    }
}
