import Foundation
import LedgerTestSupport
import Testing

/// `--config FILE` and SIGHUP: the log level and the retention policy change at once, a change to
/// anything else is named and waits for a restart, and a bad file keeps what is in use.
@Suite struct SettingsReloadTests {
    @Test func hangUpAppliesTheLogLevelAndRetentionFromTheFile() async throws {
        let directory = try makeTemporaryDirectory()
        defer { try? FileManager.default.removeItem(atPath: directory) }
        let file = "\(directory)/ledgerd.conf"
        try "# as installed\nLEDGER_LOG_LEVEL=info\nLEDGER_COMMIT_BATCH=500\n".write(toFile: file, atomically: true, encoding: .utf8)
        let daemon = try await Daemon.start(in: directory, extraArguments: ["--config", file])
        for index in 0..<3 {
            #expect(try await runTool("ledger-rpc", ["log", "video_uploaded", "video_asset", "v-\(index)", "--socket", daemon.socketPath]).status == 0)
        }
        func retention() async throws -> String {
            try await runTool("ledger-rpc", ["retention", "--json", "--socket", daemon.socketPath]).stdout
        }
        let initial = try await retention()
        #expect(initial.contains("\"policy\":\"forever\""), "\(initial)")

        // Older than the rule's second by the time the pass that SIGHUP starts looks at them.
        try await Task.sleep(for: .seconds(2))
        try "LEDGER_LOG_LEVEL=debug\nLEDGER_RETAIN='INFO=1s'\nLEDGER_COMMIT_BATCH=7\n".write(toFile: file, atomically: true, encoding: .utf8)
        daemon.signal(SIGHUP)
        #expect(try await waitUntil(within: 60) { daemon.stderr.contains("SIGHUP: read \(file) again") }, "\(daemon.stderr)")
        #expect(daemon.stderr.contains("applied=log level debug; retention INFO=1s"), "\(daemon.stderr)")
        #expect(daemon.stderr.contains("SIGHUP: LEDGER_COMMIT_BATCH changed in \(file); ledgerd reads it at start only"), "\(daemon.stderr)")
        #expect(try await retention().contains("\"policy\":\"INFO=1s\""))
        // The pass the new policy starts removes the three INFO events, under one record.
        #expect(
            try await waitUntil(within: 60) {
                !(try await runTool("ledger-rpc", ["query", "type", "video_uploaded", "--json", "--socket", daemon.socketPath]).stdout
                    .contains("v-0"))
            }, "\(daemon.stderr)")

        try "LEDGER_LOG_LEVEL=debug\nLEDGER_RETAIN=INFO=6mo\n".write(toFile: file, atomically: true, encoding: .utf8)
        daemon.signal(SIGHUP)
        #expect(
            try await waitUntil(within: 60) { daemon.stderr.contains("SIGHUP: LEDGER_RETAIN=\"INFO=6mo\" in \(file) is not valid") }, "\(daemon.stderr)")
        #expect(daemon.stderr.contains("the settings in use are kept"))
        #expect(try await retention().contains("\"policy\":\"INFO=1s\""))
        await daemon.stop()
        #expect(daemon.stderr.contains("batch writer drained"), "a debug line, shown since the reload")
    }

    @Test func aBadFileStopsTheStartWithItsLine() async throws {
        let directory = try makeTemporaryDirectory()
        defer { try? FileManager.default.removeItem(atPath: directory) }
        let file = "\(directory)/ledgerd.conf"
        try "LEDGER_LOG_LEVEL=info\nLEDGER_RETIAN=INFO=30d\n".write(toFile: file, atomically: true, encoding: .utf8)
        let result = try await runTool("ledgerd", ["--config", file, "--store", "sqlite:\(directory)/l.sqlite", "--socket", "\(directory)/s.sock"])
        #expect(result.status == 2 && result.stderr.contains("\(file) line 2: ledgerd has no setting LEDGER_RETIAN"), "\(result.stderr)")
    }
}
