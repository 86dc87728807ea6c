import Foundation

/// A fresh directory under the system's temporary directory, removed when the test is done with it.
final class TemporaryDirectory {
    let path: String

    init() {
        let base = FileManager.default.temporaryDirectory.appendingPathComponent("ledger-store-\(UUID().uuidString.prefix(8))")
        try! FileManager.default.createDirectory(at: base, withIntermediateDirectories: true)
        self.path = base.path
    }

    func file(_ name: String) -> String {
        "\(self.path)/\(name)"
    }

    deinit {
        try? FileManager.default.removeItem(atPath: self.path)
    }
}
