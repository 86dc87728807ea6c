import ArgumentParser
import Foundation
import LedgerClient
import LedgerProtocol

/// `ledger-rpc health`: one line and an exit status, for scripts, monitors and load balancers.
struct Health: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Say in one line whether the daemon is ok, degraded or down, and exit 0, 1 or 2.",
        discussion: """
            ok (exit 0): the daemon answers, its store takes writes, and its backlog (events \
            received and not yet committed) is at most --max-backlog. degraded (exit 1): it \
            answers, but its store is unavailable (stats' store_available is 0) or its backlog is \
            larger: what it receives is held, not yet stored. down (exit 2): it does not answer \
            within --timeout. A usage error also exits 2, as for every ledger-rpc command; the \
            line on standard output says which it was.
            """
    )

    @Option(name: .long, help: ArgumentHelp("Backlog above which the daemon is degraded, in events.", valueName: "events"))
    var maxBacklog: Int = 10_000

    @OptionGroup var connection: ConnectionOptions

    func validate() throws {
        guard self.maxBacklog >= 0 else { throw ValidationError("--max-backlog must be 0 or more") }
    }

    /// The verdict on a daemon's stats: the line and the exit status.
    static func verdict(_ stats: StatsResult, maxBacklog: Int) -> (line: String, status: Int32) {
        let available = stats[counter: "store_available"] ?? 1
        let backlog = stats[counter: "backlog"] ?? 0
        let store = stats[fact: "store"] ?? "its store"
        if available == 0 {
            return ("degraded: \(store) is unavailable; \(backlog) events held, not yet stored", 1)
        }
        if backlog > maxBacklog {
            return ("degraded: a backlog of \(backlog) events, above --max-backlog \(maxBacklog)", 1)
        }
        return ("ok: \(stats[fact: "server"] ?? "ledgerd") on \(store), backlog \(backlog)", 0)
    }

    func run() async throws {
        let stats: StatsResult
        do {
            stats = try await self.connection.client().executeThenShutdown { try await $0.stats() }
        } catch let error as LedgerClientError {
            print(TerminalText.escaped("down: \(error.message)"))
            throw ExitCode(2)
        }
        let (line, status) = Self.verdict(stats, maxBacklog: self.maxBacklog)
        print(TerminalText.escaped(line))
        if status != 0 { throw ExitCode(status) }
    }
}
