import Foundation

/// The numbered, forward-only SQL files for one backend: those built into the binary, or a directory's.
public struct MigrationCatalog: Sendable {
    public struct Migration: Sendable, Hashable {
        public var version: Int
        public var name: String
        public var sql: String
    }

    /// Where the migrations came from, for logs and errors.
    public var directory: String
    public var migrations: [Migration]

    /// The migrations built into this binary (the EmbedMigrations plugin compiles `Migrations/`
    /// into the module), so that a copied or installed `ledgerd` carries its schema wherever it runs.
    public static func embedded(backend: String) throws(StoreError) -> MigrationCatalog {
        guard let files = Self.embeddedFiles[backend] else {
            throw StoreError(code: .migrationFailed, message: "this build holds no migrations for \(backend)")
        }
        return try Self.parse(files.map { ($0.key, $0.value) }, origin: "the \(backend) migrations built into ledgerd")
    }

    /// Reads `NNNN_name.sql` files; anything else ending in .sql is an error, so a typo cannot be skipped silently.
    public static func load(directory: String) throws(StoreError) -> MigrationCatalog {
        let names: [String]
        do {
            names = try FileManager.default.contentsOfDirectory(atPath: directory)
        } catch {
            throw StoreError(code: .migrationFailed, message: "cannot list \(directory): \(error.localizedDescription)")
        }
        var files: [(name: String, sql: String)] = []
        for name in names where name.hasSuffix(".sql") {
            let path = (directory as NSString).appendingPathComponent(name)
            guard let data = FileManager.default.contents(atPath: path), let sql = String(data: data, encoding: .utf8) else {
                throw StoreError(code: .migrationFailed, message: "cannot read migration \(path)")
            }
            files.append((name, sql))
        }
        return try Self.parse(files, origin: directory)
    }

    /// The migrations of `NNNN_name.sql` files, in version order; `origin` names where they came from in errors.
    static func parse(_ files: [(name: String, sql: String)], origin: String) throws(StoreError) -> MigrationCatalog {
        var migrations: [Migration] = []
        for (name, sql) in files where name.hasSuffix(".sql") {
            let stem = name.dropLast(4)
            guard let underscore = stem.firstIndex(of: "_"), let version = Int(stem[..<underscore]), version > 0 else {
                throw StoreError(code: .migrationFailed, message: "migration file \(origin)/\(name) is not named NNNN_description.sql")
            }
            migrations.append(Migration(version: version, name: String(stem[stem.index(after: underscore)...]), sql: sql))
        }
        migrations.sort { $0.version < $1.version }
        for (previous, next) in zip(migrations, migrations.dropFirst()) where previous.version == next.version {
            throw StoreError(code: .migrationFailed, message: "two migrations in \(origin) share version \(next.version)")
        }
        return MigrationCatalog(directory: origin, migrations: migrations)
    }
}
