import Foundation

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

/// A fresh directory for a test that removes it itself (or leaves it for a look after a failure).
public func makeTemporaryDirectory(_ purpose: String = "e2e") throws -> String {
    let path = "/tmp/ledger-\(purpose)-\(UUID().uuidString.prefix(8))"
    try FileManager.default.createDirectory(atPath: path, withIntermediateDirectories: true)
    return path
}
