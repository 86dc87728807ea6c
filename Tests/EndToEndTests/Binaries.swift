import Foundation
import LedgerTestSupport
import NIOConcurrencyHelpers

/// The executables built beside this test bundle, run as a user would run them.
enum Binaries {
    static let directory: URL = {
        if let override = ProcessInfo.processInfo.environment["LEDGER_BIN_DIR"] {
            return URL(fileURLWithPath: override)
        }
        let bundle = URL(fileURLWithPath: "/proc/self/exe").resolvingSymlinksInPath()
        return bundle.deletingLastPathComponent()
    }()

    static func url(_ name: String) -> URL {
        self.directory.appendingPathComponent(name)
    }
}

/// What a finished command printed and how it exited.
struct ToolResult: Sendable {
    var status: Int32
    var stdout: String
    var stderr: String
}

/// Runs one of the project's executables to completion.
///
/// Its blocking waits run on a thread of their own so they never hold a thread of the
/// cooperative pool that other tests need.
func runTool(_ name: String, _ arguments: [String], environment: [String: String] = [:]) async throws -> ToolResult {
    try await ProcessSlots.shared.withSlot { try await runToolNow(name, arguments, environment: environment) }
}

private func runToolNow(_ name: String, _ arguments: [String], environment: [String: String]) async throws -> ToolResult {
    try await withCheckedThrowingContinuation { continuation in
        Thread {
            continuation.resume(with: Result {
                let process = Process()
                process.executableURL = Binaries.url(name)
                process.arguments = arguments
                process.environment = ProcessInfo.processInfo.environment.merging(environment) { $1 }
                let stdout = Pipe()
                let stderr = Pipe()
                process.standardOutput = stdout
                process.standardError = stderr
                process.standardInput = FileHandle.nullDevice
                try process.run()
                let errors = NIOLockedValueBox(Data())
                let drainErrors = Thread { errors.withLockedValue { $0 = stderr.fileHandleForReading.readDataToEndOfFile() } }
                drainErrors.start()
                let output = stdout.fileHandleForReading.readDataToEndOfFile()
                process.waitUntilExit()
                while drainErrors.isExecuting || !drainErrors.isFinished { usleep(1_000) }
                return ToolResult(
                    status: process.terminationStatus, stdout: String(decoding: output, as: UTF8.self),
                    stderr: errors.withLockedValue { String(decoding: $0, as: UTF8.self) })
            })
        }.start()
    }
}
