import ArgumentParser
import Foundation
import LedgerProtocol

@main
struct LedgerBench: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "ledger-bench",
        abstract: "Measures ledgerd: ingest throughput and latency, query latency, and what a log call costs its caller.",
        discussion: """
            Each subcommand runs against a daemon that is already listening (scripts/bench.sh \
            starts one per store and runs them all). Figures go to standard output, as a table \
            or, with --json, as one JSON object; progress of long runs goes to standard error.

            The exit status is 0 when every request succeeded, 1 when any failed or was \
            refused (the figures are still printed), and 64 for bad options.
            """,
        version: LedgerDefaults.version,
        subcommands: [Ingest.self, Soak.self, Abuse.self, ClientCost.self, QueryLatency.self, ReportLatency.self, ExportThroughput.self, Generate.self, SeedWritePath.self],
        defaultSubcommand: Ingest.self
    )

    static func main() async {
        #if DEBUG
        // Debug builds run several times slower: their figures are not the product's.
        FileHandle.standardError.write(
            Data("ledger-bench: WARNING: this is a debug build; its figures mean nothing. Build with: swift build -c release\n".utf8))
        #endif
        do {
            var command = try Self.parseAsRoot()
            if var asynchronous = command as? any AsyncParsableCommand {
                try await asynchronous.run()
            } else {
                try command.run()
            }
        } catch {
            Self.exit(withError: error)
        }
    }
}
