import ArgumentParser
import Foundation
import LedgerClient
import LedgerProtocol

@main
struct LedgerRPC: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "ledger-rpc",
        abstract: "Query and feed a running ledgerd.",
        discussion: """
            ledger-rpc talks to ledgerd over its Unix socket. The connection options (--socket, \
            --connect, --cert, --key, --ca, --server-name, --timeout) and the output options \
            (--json, --wide) may come before or after the command's name. Without --socket the \
            socket is $LEDGER_SOCKET, else the per-user path ledgerd uses ($XDG_RUNTIME_DIR/ledgerd.sock, \
            else /tmp/ledgerd-UID/ledgerd.sock), else the system daemon's /run/ledgerd/ledgerd.sock.

            With --connect tls://HOST:PORT --cert PEM --key PEM --ca PEM every command \
            talks to a remote daemon's TLS listener instead; the daemon's certificate must be \
            issued for HOST as typed (a name, or an IP address), or for --server-name. Remote \
            peers may read (query, stats, tail) but not log unless that daemon allows it.

            Exit status: 0 on success; 1 when the daemon cannot be reached, refuses the request, \
            or fails; 2 for a usage error (a bad option or value, named on one line); 3 when \
            `log` sent its event but got no answer, so the event may still be stored (retry \
            with --id to store it once).

            Shell completion: ledger-rpc --generate-completion-script bash|zsh|fish.
            """,
        version: LedgerDefaults.version,
        subcommands: [
            Query.self, Timeline.self, Report.self, Export.self, Log.self, Tail.self, Retention.self, Health.self, Ping.self, Stats.self, Head.self,
            Verify.self, Prove.self, VerifyProof.self, Keygen.self,
        ]
    )

    /// Usage errors exit 2, as most Unix tools' do; 1 means the request itself failed.
    static let usageError: Int32 = 2

    /// Parses with the shared options allowed anywhere, and reports a usage error on one line
    /// with the failing command's own help hint, instead of the parser's three.
    static func main() async {
        let line = CommandLineArguments(Array(CommandLine.arguments.dropFirst()), root: Self.self)
        do {
            var command = try Self.parseAsRoot(line.arguments)
            if var asynchronous = command as? any AsyncParsableCommand {
                try await asynchronous.run()
            } else {
                try command.run()
            }
        } catch {
            Self.finish(with: error, line: line)
        }
    }

    static func finish(with error: any Error, line: CommandLineArguments) -> Never {
        if let code = error as? ExitCode { Foundation.exit(code.rawValue) }
        let code = Self.exitCode(for: error)
        if code == .success {
            // --help, --version, completion scripts.
            print(Self.fullMessage(for: error))
            Foundation.exit(0)
        }
        let hint = "see 'ledger-rpc \((line.path + ["--help"]).joined(separator: " "))'"
        var message = Self.message(for: error).split(separator: "\n").first.map(String.init) ?? "invalid arguments"
        if let unknown = line.unknownCommand {
            message = "'\(unknown.word)' is not a command"
            if let suggestion = CommandLineArguments.suggestion(for: unknown.word, among: unknown.candidates) {
                message += "; did you mean '\(suggestion)'?"
            } else {
                message += " (commands: \(unknown.candidates.joined(separator: ", ")))"
            }
        }
        if message.hasPrefix("Error: ") { message.removeFirst("Error: ".count) }
        FileHandle.standardError.write(Data("ledger-rpc: \(TerminalText.escaped(message)) (\(hint))\n".utf8))
        Foundation.exit(code == .validationFailure ? Self.usageError : code.rawValue)
    }
}

struct Ping: AsyncParsableCommand {
    static let configuration = CommandConfiguration(abstract: "Check that the daemon answers, and how fast.")

    @OptionGroup var connection: ConnectionOptions

    func run() async throws {
        let start = ContinuousClock.now
        let pong = try await self.connection.run { try await $0.ping() }
        let elapsed = ContinuousClock.now - start
        print("pong from \(TerminalText.escaped(pong.server)) (protocol \(pong.protocolVersion)) in \(Self.milliseconds(elapsed))")
    }

    /// `1.2 ms`, `0.3 ms`, `1250 ms`, as ping(8) prints round trips.
    static func milliseconds(_ duration: Duration) -> String {
        let (seconds, attoseconds) = duration.components
        let milliseconds = Double(seconds) * 1_000 + Double(attoseconds) / 1e15
        return milliseconds >= 100 ? "\(Int(milliseconds.rounded())) ms" : String(format: "%.1f ms", milliseconds)
    }
}

struct Stats: AsyncParsableCommand {
    /// Counters that are yes-or-no, printed in JSON as booleans.
    static let flags: Set<String> = ["store_available", "sqlite_writes_refused", "sqlite_files_replaced"]

    /// A fact as JSON: the pid as a number, a listener that is off as null, the rest as text.
    static func json(fact: StatsResult.Fact) -> String {
        if fact.name == "pid", let pid = Int(fact.value) { return String(pid) }
        if fact.value == "off" { return "null" }
        return JSONText.quote(fact.value)
    }

    static let configuration = CommandConfiguration(
        abstract: "Show the daemon's counters: events received, committed and refused, the backlog, connections, the store's state.")

    @OptionGroup var connection: ConnectionOptions

    @Flag(name: .long, help: "Print one JSON object.")
    var json = false

    func run() async throws {
        let stats = try await self.connection.run { try await $0.stats() }
        if self.json {
            let fields = stats.facts.map { "\(JSONText.quote($0.name)):\(Self.json(fact: $0))" }
                + stats.counters.map { "\(JSONText.quote($0.name)):\(Self.flags.contains($0.name) ? ($0.value != 0 ? "true" : "false") : String($0.value))" }
            print("{" + fields.joined(separator: ",") + "}")
        } else {
            let width = (stats.facts.map(\.name.count) + stats.counters.map(\.name.count)).max() ?? 0
            for fact in stats.facts {
                print(TerminalText.escaped(fact.name.padding(toLength: width, withPad: " ", startingAt: 0) + "  " + fact.value))
            }
            for counter in stats.counters {
                print(TerminalText.escaped(counter.name.padding(toLength: width, withPad: " ", startingAt: 0) + "  " + String(counter.value)))
            }
        }
    }
}
