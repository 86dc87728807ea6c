import Foundation
import NIOConcurrencyHelpers

/// A fresh directory for one test, removed when the test lets go of it.
///
/// Under /tmp with a short name, so that a socket inside stays within the 107 bytes a Unix
/// socket path may have.
public final class TemporaryDirectory: Sendable {
    public let path: String

    public init(_ purpose: String = "test") throws {
        self.path = try makeTemporaryDirectory(purpose)
    }

    public func file(_ name: String) -> String {
        "\(self.path)/\(name)"
    }

    deinit {
        try? FileManager.default.removeItem(atPath: self.path)
    }
}

/// A fresh directory for a test, removed when the test process exits (kept, for a look after a
/// failure, when `LEDGER_TEST_KEEP_DIRECTORIES` is set).
public func makeTemporaryDirectory(_ purpose: String = "e2e") throws -> String {
    let path = "/tmp/ledger-\(purpose)-\(UUID().uuidString.prefix(8))"
    try FileManager.default.createDirectory(atPath: path, withIntermediateDirectories: true)
    TemporaryDirectories.removeAtExit(path)
    return path
}

/// The directories tests made, so that a run leaves nothing behind in /tmp however its tests end.
enum TemporaryDirectories {
    private static let paths: NIOLockedValueBox<[String]> = {
        if ProcessInfo.processInfo.environment["LEDGER_TEST_KEEP_DIRECTORIES"] == nil {
            atexit { TemporaryDirectories.removeAll() }
        }
        return NIOLockedValueBox([])
    }()

    static func removeAtExit(_ path: String) {
        self.paths.withLockedValue { $0.append(path) }
    }

    private static func removeAll() {
        for path in self.paths.withLockedValue({ $0 }) {
            try? FileManager.default.removeItem(atPath: path)
        }
    }
}
