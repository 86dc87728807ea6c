import Foundation
import Logging

/// Applies the PostgreSQL migrations not yet recorded in `schema_migrations`.
///
/// A session advisory lock serialises daemons that start at once against one
/// database: the second waits, then finds every migration applied.
struct PostgresMigrator {
    /// An arbitrary constant shared by every ledgerd; "ledger" in ASCII.
    static let advisoryLockKey = "108101100103101114"

    let connection: PostgresConnection

    func migrate(_ catalog: MigrationCatalog, logger: Logger) throws(StoreError) {
        let lock = PostgresSessionLock(key: Self.advisoryLockKey, purpose: "migrating the database")
        try lock.acquire(on: self.connection, logger: logger, as: .migrationFailed)
        defer { lock.release(on: self.connection, as: .migrationFailed) }
        try self.connection.execute(
            """
            CREATE TABLE IF NOT EXISTS schema_migrations (
                version    integer     PRIMARY KEY,
                name       text        NOT NULL,
                applied_at timestamptz NOT NULL DEFAULT now()
            )
            """,
            as: .migrationFailed
        )
        let applied = try self.connection.execute("SELECT version FROM schema_migrations", as: .migrationFailed)
        let versions = Set((0..<applied.rowCount).compactMap { applied.text($0, 0).flatMap { Int($0) } })
        if let newest = versions.max(), let known = catalog.migrations.last?.version, newest > known {
            throw StoreError(
                code: .migrationFailed,
                message: "the database is at schema version \(newest), newer than this build's \(known); upgrade ledgerd")
        }
        let progress = MigrationProgress(logger: logger, upgrading: !versions.isEmpty)
        for migration in catalog.migrations where !versions.contains(migration.version) {
            do {
                let started = progress.applying(migration)
                try self.connection.transaction(as: .migrationFailed) { () throws(StoreError) in
                    try self.connection.execute(migration.sql, as: .migrationFailed)
                    try self.connection.execute(
                        "INSERT INTO schema_migrations (version, name) VALUES ($1, $2)", ["\(migration.version)", migration.name],
                        as: .migrationFailed)
                }
                progress.applied(migration, since: started)
            } catch {
                throw StoreError(
                    code: error.code == .unavailable ? .unavailable : .migrationFailed,
                    message: "migration \(migration.version)_\(migration.name) from \(catalog.directory): \(error.message)",
                    backendCode: error.backendCode)
            }
        }
    }
}
