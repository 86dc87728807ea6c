import Foundation
import LedgerStore
import Logging

/// The backends every store test runs against.
public enum StoreKind: String, CaseIterable, Sendable, CustomStringConvertible {
    case sqlite
    case postgres
    case memory

    /// The stores that keep events across a restart, for tests of durability and migrations.
    public static let durable: [StoreKind] = [.sqlite, .postgres]

    public var description: String { self.rawValue }
}

/// A store on a fresh SQLite file or a fresh PostgreSQL database, and the way to reopen it.
public final class TestStore: Sendable {
    public let kind: StoreKind
    /// What `--store` would say for this database.
    public let location: String
    private let directory: String?

    public static func make(_ kind: StoreKind) async throws -> TestStore {
        let directory = try makeTemporaryDirectory("store")
        switch kind {
        case .sqlite: return TestStore(kind: kind, location: "sqlite:\(directory)/ledger.sqlite", directory: directory)
        case .postgres: return TestStore(kind: kind, location: try await TestPostgres.createDatabase(), directory: directory)
        case .memory: return TestStore(kind: kind, location: "memory", directory: directory)
        }
    }

    /// A SQLite file made elsewhere, left in place when this is done with it.
    public static func existingSQLite(at path: String) -> TestStore {
        TestStore(kind: .sqlite, location: "sqlite:\(path)", directory: nil)
    }

    private init(kind: StoreKind, location: String, directory: String?) {
        self.kind = kind
        self.location = location
        self.directory = directory
    }

    deinit {
        if let directory = self.directory { try? FileManager.default.removeItem(atPath: directory) }
    }

    /// Opens the store, applying migrations, as ledgerd does at start.
    public func open() async throws -> any EventStore {
        var logger = Logger(label: "test-store")
        logger.logLevel = .warning
        return try await StoreLocation(parsing: self.location).open(logger: logger)
    }

    /// Runs SQL with the backend's own shell (sqlite3 or psql) and returns its output.
    @discardableResult
    public func shell(_ sql: String) async throws -> String {
        switch self.kind {
        case .sqlite:
            // sqlite3 reads an argument that starts with "-" (a leading SQL comment) as an option.
            let result = try await Subprocess.run(["sqlite3", String(self.location.dropFirst("sqlite:".count)), "\n" + sql])
            guard result.status == 0 else { throw TestPostgres.PSQLFailure(sql: sql, message: result.stderr) }
            return result.stdout.trimmingCharacters(in: .whitespacesAndNewlines)
        case .postgres:
            return try await TestPostgres.psql(self.location, sql)
        case .memory:
            throw TestPostgres.PSQLFailure(sql: sql, message: "a memory store has no shell")
        }
    }
}
