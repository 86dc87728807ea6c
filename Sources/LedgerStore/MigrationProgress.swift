import Foundation
import Logging

/// The log lines of a store's migrations, the same for every backend. Creating a store is routine
/// (info level); upgrading one is worth the operator's notice, with a line before each migration
/// begins, since one that rebuilds an index takes minutes on a large store.
struct MigrationProgress {
    let logger: Logger
    let level: Logger.Level

    init(logger: Logger, upgrading: Bool) {
        self.logger = logger
        self.level = upgrading ? .notice : .info
    }

    /// Logs that `migration` starts (on an upgrade) and returns when it did.
    func applying(_ migration: MigrationCatalog.Migration) -> ContinuousClock.Instant {
        if self.level == .notice {
            self.logger.notice("applying migration", metadata: Self.metadata(migration))
        }
        return ContinuousClock.now
    }

    /// Logs that `migration` is applied, with the seconds it took to a tenth.
    func applied(_ migration: MigrationCatalog.Migration, since started: ContinuousClock.Instant) {
        let elapsed = ContinuousClock.now - started
        let seconds = Double(elapsed.components.seconds) + Double(elapsed.components.attoseconds) / 1e18
        var metadata = Self.metadata(migration)
        metadata["seconds"] = "\(String(format: "%.1f", seconds))"
        self.logger.log(level: self.level, "applied migration", metadata: metadata)
    }

    private static func metadata(_ migration: MigrationCatalog.Migration) -> Logger.Metadata {
        ["version": "\(migration.version)", "name": "\(migration.name)"]
    }
}
