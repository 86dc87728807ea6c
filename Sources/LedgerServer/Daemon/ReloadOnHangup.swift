import Logging
import ServiceLifecycle
import UnixSignals

/// What SIGHUP reads again besides the TLS files: the settings file (`--config`), with the flags
/// and environment the daemon started with, so a flag still wins over the file.
public struct SettingsReload: Sendable {
    public var options: LedgerDaemonOptions
    public var environment: [String: String]
    public var userID: UInt32
    /// The settings ledgerd started with: a change to one that is read at start only is named, not applied.
    public var started: LedgerDaemonSettings
    public var logLevel: LogLevelControl

    public init(options: LedgerDaemonOptions, environment: [String: String], userID: UInt32, started: LedgerDaemonSettings, logLevel: LogLevelControl) {
        self.options = options
        self.environment = environment
        self.userID = userID
        self.started = started
        self.logLevel = logLevel
    }
}

/// SIGHUP reads again what can change without a restart: the TLS listener's certificate, key and
/// client CA, and from the settings file the log level and the retention policy. A file that does
/// not read or holds a bad value keeps everything as it is, said in one line. A closed terminal
/// sends SIGHUP too, and this is all it does, so it never stops the ledger.
struct ReloadOnHangup: Service {
    let server: LedgerServer
    let settings: SettingsReload?
    let logger: Logger

    func run() async throws {
        let hangups = await UnixSignalsSequence(trapping: .sighup)
        await cancelWhenGracefulShutdown {
            for await _ in hangups {
                self.server.reloadTLS()
                if let settings = self.settings { self.reload(settings) }
            }
        }
    }

    func reload(_ reload: SettingsReload) {
        guard let file = reload.started.settingsFile else { return }
        let next: LedgerDaemonSettings
        do {
            next = try LedgerDaemonSettings(options: reload.options, environment: reload.environment, userID: reload.userID)
        } catch {
            self.logger.error("SIGHUP: \(error); the settings in use are kept")
            return
        }
        var applied: [String] = []
        if next.logLevel != reload.logLevel.current {
            reload.logLevel.current = next.logLevel
            applied.append("log level \(next.logLevel)")
        }
        if next.configuration.retention != self.server.retentionLog.policy {
            self.server.retentionLog.replacePolicy(next.configuration.retention)
            applied.append("retention \(next.configuration.retention)")
        }
        let before = reload.started.fileValues
        let waiting = Set(before.keys).union(next.fileValues.keys)
            .filter { before[$0] != next.fileValues[$0] && !SettingsFile.reloadable.contains($0) }.sorted()
        self.logger.notice("SIGHUP: read \(file) again", metadata: ["applied": "\(applied.isEmpty ? "nothing changed" : applied.joined(separator: "; "))"])
        if !waiting.isEmpty {
            self.logger.warning(
                "SIGHUP: \(waiting.joined(separator: ", ")) changed in \(file); ledgerd reads \(waiting.count == 1 ? "it" : "them") at start only, so the change takes effect at the next restart")
        }
    }
}
