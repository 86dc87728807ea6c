import ArgumentParser

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
        subcommands: [Ingest.self, Soak.self, Abuse.self, ClientCost.self, QueryLatency.self, Generate.self, SeedWritePath.self],
        defaultSubcommand: Ingest.self
    )
}
