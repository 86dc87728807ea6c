import Foundation
import Logging

/// Applies the SQLite migrations not yet recorded in `schema_migrations`, each in its own transaction.
struct SQLiteMigrator {
    let connection: SQLiteConnection

    func migrate(_ catalog: MigrationCatalog, logger: Logger) throws(StoreError) {
        try self.connection.execute(
            """
            CREATE TABLE IF NOT EXISTS schema_migrations (
                version    INTEGER PRIMARY KEY,
                name       TEXT    NOT NULL,
                applied_at INTEGER NOT NULL
            )
            """,
            as: .migrationFailed
        )
        let existing = try self.connection.prepare("SELECT count(*) FROM schema_migrations", as: .migrationFailed)
        let progress = MigrationProgress(logger: logger, upgrading: try existing.step(as: .migrationFailed) && existing.integer(0) > 0)
        existing.reset()
        // BEGIN IMMEDIATE takes the write lock before reading the applied versions, so two
        // daemons starting on one file cannot both apply the same migration.
        for migration in catalog.migrations {
            try self.connection.execute("BEGIN IMMEDIATE", as: .migrationFailed)
            do {
                let check = try self.connection.prepare("SELECT 1 FROM schema_migrations WHERE version = ?", as: .migrationFailed)
                check.bind([.integer(Int64(migration.version))])
                let applied = try check.step(as: .migrationFailed)
                check.reset()
                if !applied {
                    let started = progress.applying(migration)
                    try self.connection.execute(migration.sql, as: .migrationFailed)
                    let record = try self.connection.prepare(
                        "INSERT INTO schema_migrations (version, name, applied_at) VALUES (?, ?, ?)", as: .migrationFailed)
                    record.bind([
                        .integer(Int64(migration.version)), .text(migration.name),
                        .integer(Int64(Date().timeIntervalSince1970 * 1_000_000)),
                    ])
                    _ = try record.step(as: .migrationFailed)
                    record.reset()
                    progress.applied(migration, since: started)
                }
                try self.connection.execute("COMMIT", as: .migrationFailed)
            } catch {
                try? self.connection.execute("ROLLBACK")
                throw StoreError(
                    code: .migrationFailed,
                    message: "migration \(migration.version)_\(migration.name) from \(catalog.directory): \(error.message)",
                    backendCode: error.backendCode
                )
            }
        }
        let newest = try self.connection.prepare("SELECT max(version) FROM schema_migrations", as: .migrationFailed)
        if try newest.step(as: .migrationFailed), let known = catalog.migrations.last?.version {
            let applied = Int(newest.integer(0))
            if applied > known {
                throw StoreError(
                    code: .migrationFailed,
                    message: "the database is at schema version \(applied), newer than this build's \(known); upgrade ledgerd"
                )
            }
        }
    }
}
