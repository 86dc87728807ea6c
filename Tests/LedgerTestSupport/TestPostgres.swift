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

    /// The server's directory, for tests that stop and start it.
    public static var directory: String? {
        ProcessInfo.processInfo.environment["LEDGER_TEST_POSTGRES_DIR"].flatMap { $0.isEmpty ? nil : $0 }
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
    public static func createDatabase() throws -> String {
        guard let uri = self.uri else { throw Unavailable() }
        let name = "ledger_test_\(UUID().uuidString.prefix(12).lowercased().replacingOccurrences(of: "-", with: ""))"
        _ = try self.psql(uri, "CREATE DATABASE \(name)")
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
    public static func psql(_ uri: String, _ sql: String) throws -> String {
        let process = Process()
        process.executableURL = URL(fileURLWithPath: "/usr/bin/env")
        process.arguments = ["psql", uri, "-X", "-q", "-A", "-t", "-v", "ON_ERROR_STOP=1", "-c", sql]
        let output = Pipe()
        let errors = Pipe()
        process.standardOutput = output
        process.standardError = errors
        try process.run()
        let data = output.fileHandleForReading.readDataToEndOfFile()
        let errorData = errors.fileHandleForReading.readDataToEndOfFile()
        process.waitUntilExit()
        guard process.terminationStatus == 0 else {
            throw PSQLFailure(sql: sql, message: String(decoding: errorData, as: UTF8.self))
        }
        return String(decoding: data, as: UTF8.self).trimmingCharacters(in: .whitespacesAndNewlines)
    }

    public struct PSQLFailure: Error, CustomStringConvertible {
        public var sql: String
        public var message: String
        public var description: String { "psql failed on \(sql): \(message)" }
    }

    /// Runs scripts/dev-postgres.sh (`stop` or `start`) against the test server's directory.
    public static func control(_ action: String) throws {
        guard let directory = self.directory else { throw Unavailable() }
        let script = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
            .appendingPathComponent("scripts/dev-postgres.sh").path
        let process = Process()
        process.executableURL = URL(fileURLWithPath: "/bin/bash")
        process.arguments = [script, action, directory]
        process.standardOutput = FileHandle.nullDevice
        try process.run()
        process.waitUntilExit()
        guard process.terminationStatus == 0 else { throw PSQLFailure(sql: "dev-postgres.sh \(action)", message: "exit \(process.terminationStatus)") }
    }
}
