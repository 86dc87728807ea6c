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
            ledger-rpc talks to ledgerd over its Unix socket. Every command takes the \
            connection options after its name; --socket defaults to $LEDGER_SOCKET, then to \
            the same per-user path ledgerd uses.

            With --connect tls://HOST:PORT --cert PEM --key PEM --ca PEM every command \
            talks to a remote daemon's TLS listener instead; remote peers may read \
            (query, stats, tail) but not log unless that daemon allows it.

            When the daemon cannot be reached, ledger-rpc prints one line naming the socket \
            (or the TLS address, with the reason a handshake failed) and exits with status 1.
            """,
        subcommands: [Query.self, Log.self, Tail.self, Ping.self, Stats.self]
    )
}

/// Options every command takes to find the daemon.
struct ConnectionOptions: ParsableArguments {
    @Option(name: .long, help: ArgumentHelp("The daemon's Unix socket. [env: LEDGER_SOCKET]", valueName: "path"))
    var socket: String?

    @Option(
        name: .long,
        help: ArgumentHelp("A remote daemon's TLS listener, tls://HOST:PORT, instead of the socket; needs --cert, --key and --ca.", valueName: "url"))
    var connect: String?

    @Option(name: .long, help: ArgumentHelp("This client's certificate (PEM) for --connect.", valueName: "pem"))
    var cert: String?

    @Option(name: .long, help: ArgumentHelp("This client's private key (PEM) for --connect.", valueName: "pem"))
    var key: String?

    @Option(name: .long, help: ArgumentHelp("The CA (PEM) that issued the daemon's certificate, for --connect.", valueName: "pem"))
    var ca: String?

    @Option(name: .long, help: ArgumentHelp("Seconds to wait for an answer.", valueName: "seconds"))
    var timeout: Int = 10

    func validate() throws {
        guard (1...3600).contains(self.timeout) else { throw ValidationError("--timeout must be between 1 and 3600 seconds") }
        _ = try self.tlsEndpoint()
    }

    func tlsEndpoint() throws -> LedgerTLSEndpoint? {
        guard let connect = self.connect else {
            if self.cert != nil || self.key != nil || self.ca != nil {
                throw ValidationError("--cert, --key and --ca go with --connect tls://HOST:PORT")
            }
            return nil
        }
        guard self.socket == nil else { throw ValidationError("--socket and --connect are alternatives; give one") }
        guard let address = LedgerTLSEndpoint.parse(address: connect) else {
            throw ValidationError("--connect \"\(connect)\" is not tls://HOST:PORT")
        }
        guard let cert = self.cert, let key = self.key, let ca = self.ca else {
            let missing = [("--cert", self.cert), ("--key", self.key), ("--ca", self.ca)].filter { $0.1 == nil }.map(\.0)
            throw ValidationError("--connect needs \(missing.joined(separator: ", ")): the daemon accepts only clients with a certificate")
        }
        return LedgerTLSEndpoint(host: address.host, port: address.port, certificatePath: cert, privateKeyPath: key, caPath: ca)
    }

    func client() -> LedgerClient {
        var configuration = LedgerClientConfiguration.default()
        if let socket = self.socket { configuration.socketPath = socket }
        configuration.tls = try? self.tlsEndpoint()
        configuration.requestTimeout = .seconds(Int64(self.timeout))
        return LedgerClient(configuration: configuration)
    }

    /// Runs the body against a fresh connection, turning a client error into one line on stderr and exit status 1.
    func run<Result>(_ body: (LedgerClient) async throws -> Result) async throws -> Result {
        let client = self.client()
        defer { Task { await client.shutdown() } }
        do {
            return try await body(client)
        } catch let error as LedgerClientError {
            FileHandle.standardError.write(Data("ledger-rpc: \(TerminalText.escaped(error.message))\n".utf8))
            throw ExitCode.failure
        }
    }
}

struct Ping: AsyncParsableCommand {
    static let configuration = CommandConfiguration(abstract: "Check that the daemon answers, and how fast.")

    @OptionGroup var connection: ConnectionOptions

    func run() async throws {
        let start = ContinuousClock.now
        let pong = try await self.connection.run { try await $0.ping() }
        let elapsed = ContinuousClock.now - start
        print("pong from \(TerminalText.escaped(pong.server)) (protocol \(pong.protocolVersion)) in \(elapsed.formatted(.units(allowed: [.milliseconds, .microseconds], width: .narrow)))")
    }
}

struct Stats: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Show the daemon's counters: events received, committed and refused, the backlog, connections, the store's state.")

    @OptionGroup var connection: ConnectionOptions

    @Flag(name: .long, help: "Print one JSON object.")
    var json = false

    func run() async throws {
        let stats = try await self.connection.run { try await $0.stats() }
        if self.json {
            let fields = stats.facts.map { "\(JSONText.quote($0.name)):\(JSONText.quote($0.value))" }
                + stats.counters.map { "\(JSONText.quote($0.name)):\($0.value)" }
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
