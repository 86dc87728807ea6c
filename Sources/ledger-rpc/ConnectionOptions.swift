import ArgumentParser
import Foundation
import LedgerClient
import LedgerProtocol

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

    @Option(
        name: .long,
        help: ArgumentHelp(
            "The name the daemon's certificate must carry, when it is not the HOST of --connect (as openssl s_client -servername).",
            valueName: "name"))
    var serverName: String?

    @Option(name: .long, help: ArgumentHelp("Seconds to wait for an answer, connecting included (1 to 3600).", valueName: "seconds"))
    var timeout: Int = 10

    func validate() throws {
        guard (1...3600).contains(self.timeout) else { throw ValidationError("--timeout \(self.timeout) is out of range: give 1 to 3600 seconds") }
        if self.serverName != nil, self.connect == nil { throw ValidationError("--server-name goes with --connect tls://HOST:PORT") }
        if let name = self.serverName, name.isEmpty || name.contains(where: { $0.isWhitespace || $0 == "/" }) {
            throw ValidationError("--server-name \"\(name)\" is not a host name or address")
        }
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
            throw ValidationError("--connect \"\(connect)\" is not tls://HOST:PORT (such as tls://ledger.example:7443 or tls://[::1]:7443)")
        }
        guard let cert = self.cert, let key = self.key, let ca = self.ca else {
            let missing = [("--cert", self.cert), ("--key", self.key), ("--ca", self.ca)].filter { $0.1 == nil }.map(\.0)
            throw ValidationError("--connect needs \(missing.joined(separator: ", ")): the daemon accepts only clients with a certificate")
        }
        return LedgerTLSEndpoint(
            host: address.host, port: address.port, certificatePath: cert, privateKeyPath: key, caPath: ca, serverName: self.serverName)
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
        do {
            return try await self.client().executeThenShutdown(body)
        } catch let error as LedgerClientError {
            printError(error.message)
            throw ExitCode.failure
        }
    }
}

/// One line on standard error, terminal controls escaped.
func printError(_ message: String) {
    FileHandle.standardError.write(Data("ledger-rpc: \(TerminalText.escaped(message))\n".utf8))
}

