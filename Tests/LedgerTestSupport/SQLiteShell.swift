import Foundation

/// Runs the sqlite3 shell, the way an operator would inspect the file.
public func sqlite(_ path: String, _ sql: String) async throws -> String {
    try await Subprocess.run(["sqlite3", path, sql]).stdout.trimmingCharacters(in: .whitespacesAndNewlines)
}
