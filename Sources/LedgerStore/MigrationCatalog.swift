import Foundation

/// The numbered, forward-only SQL files for one backend, found without relying on the working directory.
public struct MigrationCatalog: Sendable {
    public struct Migration: Sendable, Hashable {
        public var version: Int
        public var name: String
        public var sql: String
    }

    public var directory: String
    public var migrations: [Migration]

    /// Looks in, in order: `$LEDGER_MIGRATIONS/<backend>`, the resource bundle next to
    /// the running executable, and the source checkout this module was built from.
    public static func locate(
        backend: String,
        environment: [String: String] = ProcessInfo.processInfo.environment
    ) throws(StoreError) -> MigrationCatalog {
        var candidates: [String] = []
        if let override = environment["LEDGER_MIGRATIONS"], !override.isEmpty {
            candidates.append((override as NSString).appendingPathComponent(backend))
        }
        let executable = URL(fileURLWithPath: CommandLine.arguments.first ?? "").resolvingSymlinksInPath()
        let executableDirectory = executable.deletingLastPathComponent().path
        for bundle in ["SocialSyncLedger_LedgerStore.resources", "SocialSyncLedger_LedgerStore.bundle/Contents/Resources"] {
            candidates.append("\(executableDirectory)/\(bundle)/Migrations/\(backend)")
        }
        if let main = Bundle.main.resourcePath {
            candidates.append("\(main)/SocialSyncLedger_LedgerStore.resources/Migrations/\(backend)")
        }
        let sourceDirectory = URL(fileURLWithPath: #filePath).deletingLastPathComponent()
        candidates.append(sourceDirectory.appendingPathComponent("Migrations/\(backend)").path)

        for candidate in candidates {
            var isDirectory: ObjCBool = false
            if FileManager.default.fileExists(atPath: candidate, isDirectory: &isDirectory), isDirectory.boolValue {
                return try Self.load(directory: candidate)
            }
        }
        throw StoreError(
            code: .migrationFailed,
            message: "no \(backend) migrations found; looked in \(candidates.joined(separator: ", ")); set LEDGER_MIGRATIONS to the Migrations directory"
        )
    }

    /// Reads `NNNN_name.sql` files; anything else ending in .sql is an error, so a typo cannot be skipped silently.
    public static func load(directory: String) throws(StoreError) -> MigrationCatalog {
        let names: [String]
        do {
            names = try FileManager.default.contentsOfDirectory(atPath: directory)
        } catch {
            throw StoreError(code: .migrationFailed, message: "cannot list \(directory): \(error.localizedDescription)")
        }
        var migrations: [Migration] = []
        for name in names where name.hasSuffix(".sql") {
            let stem = name.dropLast(4)
            guard let underscore = stem.firstIndex(of: "_"), let version = Int(stem[..<underscore]), version > 0 else {
                throw StoreError(code: .migrationFailed, message: "migration file \(directory)/\(name) is not named NNNN_description.sql")
            }
            let path = (directory as NSString).appendingPathComponent(name)
            guard let data = FileManager.default.contents(atPath: path), let sql = String(data: data, encoding: .utf8) else {
                throw StoreError(code: .migrationFailed, message: "cannot read migration \(path)")
            }
            migrations.append(Migration(version: version, name: String(stem[stem.index(after: underscore)...]), sql: sql))
        }
        migrations.sort { $0.version < $1.version }
        for (previous, next) in zip(migrations, migrations.dropFirst()) where previous.version == next.version {
            throw StoreError(code: .migrationFailed, message: "two migrations in \(directory) share version \(next.version)")
        }
        return MigrationCatalog(directory: directory, migrations: migrations)
    }
}
