import Foundation
import Testing

/// The PostgreSQL server that scripts/test.sh starts (scripts/dev-postgres.sh), found through
/// `LEDGER_TEST_POSTGRES_URI` and `LEDGER_TEST_POSTGRES_DIR`.
///
/// Every test gets a database of its own, so tests run in parallel without seeing each other's rows.
public enum TestPostgres {
    public static var uri: String? {
        ProcessInfo.processInfo.environment["LEDGER_TEST_POSTGRES_URI"].flatMap { $0.isEmpty ? nil : $0 }
    }

    /// Under CI a missing server fails the run instead of skipping the PostgreSQL half of the suite.
    public static var isRequired: Bool {
        ProcessInfo.processInfo.environment["CI"] == "true"
    }

    public struct Unavailable: Error, CustomStringConvertible {
        public var description: String {
            "LEDGER_TEST_POSTGRES_URI is not set; run the tests through scripts/test.sh, which starts PostgreSQL"
        }
    }

    /// A fresh, empty database on the test server, and its URI.
    public static func createDatabase() async throws -> String {
        guard let uri = self.uri else { throw Unavailable() }
        let name = "ledger_test_\(UUID().uuidString.prefix(12).lowercased().replacingOccurrences(of: "-", with: ""))"
        _ = try await self.psql(uri, "CREATE DATABASE \(name)")
        return try self.uri(uri, database: name)
    }

    /// The server URI with another database name.
    public static func uri(_ uri: String, database: String) throws -> String {
        guard var components = URLComponents(string: uri) else { throw Unavailable() }
        components.path = "/\(database)"
        guard let text = components.string else { throw Unavailable() }
        return text
    }

    /// Runs SQL through psql, the way an operator would, and returns its unaligned output.
    @discardableResult
    public static func psql(_ uri: String, _ sql: String) async throws -> String {
        let result = try await Subprocess.run(["psql", uri, "-X", "-q", "-A", "-t", "-v", "ON_ERROR_STOP=1", "-c", sql])
        guard result.status == 0 else { throw PSQLFailure(sql: sql, message: result.stderr) }
        return result.stdout.trimmingCharacters(in: .whitespacesAndNewlines)
    }

    public struct PSQLFailure: Error, CustomStringConvertible {
        public var sql: String
        public var message: String
        public var description: String { "psql failed on \(sql): \(message)" }
    }

    /// A server of the test's own, for tests that stop and start PostgreSQL under a running store.
    public final class PrivateServer: Sendable {
        public let directory: String
        public let uri: String

        private init(directory: String, uri: String) {
            self.directory = directory
            self.uri = uri
        }

        public static func start() async throws -> PrivateServer {
            guard TestPostgres.uri != nil else { throw Unavailable() }
            let directory = "/tmp/ledger-pg-\(UUID().uuidString.prefix(8))"
            return PrivateServer(directory: directory, uri: try await TestPostgres.devPostgres("start", directory))
        }

        public func stop() async throws { try await TestPostgres.devPostgres("stop", self.directory) }
        public func start() async throws { try await TestPostgres.devPostgres("start", self.directory) }

        deinit {
            _ = try? TestPostgres.devPostgresBlocking("destroy", self.directory)
        }
    }

    /// Runs scripts/dev-postgres.sh and returns what it printed.
    @discardableResult
    static func devPostgres(_ action: String, _ directory: String) async throws -> String {
        try await onThreadOfItsOwn { try Self.devPostgresBlocking(action, directory) }
    }

    @discardableResult
    static func devPostgresBlocking(_ action: String, _ directory: String) throws -> String {
        let script = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
            .appendingPathComponent("scripts/dev-postgres.sh").path
        let result = try Subprocess.run(["bash", script, action, directory])
        guard result.status == 0 else {
            throw PSQLFailure(sql: "dev-postgres.sh \(action)", message: "exit \(result.status): \(result.stderr)")
        }
        return result.stdout.trimmingCharacters(in: .whitespacesAndNewlines)
    }
}