import Foundation
import LedgerTestSupport
import Testing

/// An installed ledgerd is one file: copied alone to an empty directory, it starts and migrates a
/// new store, its migrations built in.
@Suite struct InstalledBinaryTests {
    @Test func aCopiedLedgerdStartsAloneInAnEmptyDirectory() async throws {
        let directory = try makeTemporaryDirectory()
        defer { try? FileManager.default.removeItem(atPath: directory) }
        let copy = "\(directory)/bin/ledgerd"
        try FileManager.default.createDirectory(atPath: "\(directory)/bin", withIntermediateDirectories: true)
        try FileManager.default.copyItem(atPath: Binaries.url("ledgerd").path, toPath: copy)
        #expect(try FileManager.default.contentsOfDirectory(atPath: "\(directory)/bin") == ["ledgerd"])
        let daemon = try ChildProcess(
            ["/usr/bin/env", "-C", "\(directory)/bin", copy, "--socket", "\(directory)/ledgerd.sock", "--store", "sqlite:\(directory)/ledger.sqlite"])
        defer { daemon.signal(SIGKILL) }
        #expect(await daemon.waitForLine(startingWith: "ready"), "\(daemon.stderr)")
        let applied = try await sqlite("\(directory)/ledger.sqlite", "SELECT count(*) FROM schema_migrations")
        #expect(Int(applied) ?? 0 >= 4, "\(daemon.stderr)")
        daemon.signal(SIGTERM)
        #expect(await daemon.waitForExit() == 0)
    }
}
