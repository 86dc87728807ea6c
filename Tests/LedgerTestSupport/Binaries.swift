import Foundation
import NIOConcurrencyHelpers

/// The executables built beside this test bundle, run as a user would run them.
public enum Binaries {
    public static let directory: URL = {
        if let override = ProcessInfo.processInfo.environment["LEDGER_BIN_DIR"] {
            return URL(fileURLWithPath: override)
        }
        let bundle = URL(fileURLWithPath: "/proc/self/exe").resolvingSymlinksInPath()
        return bundle.deletingLastPathComponent()
    }()

    public static func url(_ name: String) -> URL {
        self.directory.appendingPathComponent(name)
    }
}

/// What a finished command printed and how it exited.
public struct ToolResult: Sendable {
    public var status: Int32
    public var stdout: String
    public var stderr: String

    public init(status: Int32, stdout: String, stderr: String) {
        self.status = status
        self.stdout = stdout
        self.stderr = stderr
    }
}

/// Runs one of the project's executables to completion.
///
/// Its blocking waits run on a thread of their own so they never hold a thread of the
/// cooperative pool that other tests need.
public func runTool(_ name: String, _ arguments: [String], environment: [String: String] = [:]) async throws -> ToolResult {
    try await ProcessSlots.shared.withSlot { try await runToolNow(name, arguments, environment: environment) }
}

private func runToolNow(_ name: String, _ arguments: [String], environment: [String: String]) async throws -> ToolResult {
    let result = try await Subprocess.run([Binaries.url(name).path] + arguments, environment: environment)
    return ToolResult(status: result.status, stdout: result.stdout, stderr: result.stderr)
}
