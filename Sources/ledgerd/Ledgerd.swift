import ArgumentParser
import Foundation
import LedgerProtocol
import LedgerServer
import LedgerStore
import Logging

@main
struct Ledgerd: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "ledgerd",
        abstract: "The SocialSyncLedger daemon: records audit events sent over a Unix socket.",
        discussion: """
            ledgerd accepts events from co-located services on a Unix domain socket, commits \
            them to the store in batches, and acknowledges each acknowledged request only after \
            its transaction is durable. Queries (ledger-rpc query ...) read the same store.

            With no options it stores in a SQLite file under the user's data directory and \
            listens on a socket the user can create; migrations are applied at start.

            On PostgreSQL (--store postgres://...) migrations run under an advisory lock, so \
            several daemons may start against one database at once. When the database goes \
            away ledgerd keeps running: it stops acknowledging, holds what it has received \
            (stopping reading from clients when its queue is full), retries with back-off and \
            writes the backlog when the database returns. `ledger-rpc stats` shows \
            store_available and backlog.

            Every option can also be set through the environment variable shown beside it; \
            an option on the command line wins. On SIGTERM or SIGINT the daemon stops \
            accepting, commits everything it has received, and exits 0.

            When the socket accepts connections a line beginning with "ready" is written to \
            standard error. SIGHUP is ignored, so closing the terminal it was started from does \
            not stop it.

            Only the default socket and data directories are created; a --socket or --store \
            whose directory is missing is refused. One ledgerd holds a SQLite store at a time \
            (a lock file beside it, FILE.lock); a second one is refused, naming the first's pid.

            Exit status: 0 after a clean shutdown; 1 when the store, the socket or the TLS files \
            cannot be used; 2 for a usage error (a bad option, value or environment variable, \
            named on one line).
            """,
        version: LedgerDefaults.version
    )

    /// Defaults as this user would get them, for --help.
    static let defaultSocket = LedgerDefaults.socketPath(environment: ProcessInfo.processInfo.environment, userID: UInt32(getuid()))
    static let defaultStore =
        LedgerDefaults.sqlitePath(environment: ProcessInfo.processInfo.environment, userID: UInt32(getuid())).map { "sqlite:" + $0 }
        ?? "none: set HOME or XDG_DATA_HOME, or give --store"

    static func main() async {
        do {
            var command = try Self.parseAsRoot()
            if var asynchronous = command as? any AsyncParsableCommand {
                try await asynchronous.run()
            } else {
                try command.run()
            }
        } catch {
            if let code = error as? ExitCode { Foundation.exit(code.rawValue) }
            let code = Self.exitCode(for: error)
            if code == .success {
                print(Self.fullMessage(for: error))
                Foundation.exit(0)
            }
            var message = Self.message(for: error).split(separator: "\n").first.map(String.init) ?? "invalid arguments"
            if message.hasPrefix("Error: ") { message.removeFirst("Error: ".count) }
            FileHandle.standardError.write(Data("ledgerd: \(message) (see 'ledgerd --help')\n".utf8))
            Foundation.exit(code == .validationFailure ? 2 : code.rawValue)
        }
    }

    @Option(name: .long, help: ArgumentHelp("Path of the Unix socket to listen on. [env: LEDGER_SOCKET] (default: \(Ledgerd.defaultSocket))", valueName: "path"))
    var socket: String?

    @Option(
        name: .long,
        help: ArgumentHelp(
            "Where to store events: sqlite:PATH, or PostgreSQL as a libpq URI (postgres://user@host/db, postgresql:///db?host=/run/postgresql) or key=value pairs, or memory[:N] (the last N events in memory, not durable: for benchmarks and tests). [env: LEDGER_STORE] (default: \(Ledgerd.defaultStore))",
            valueName: "uri")
    )
    var store: String?

    @Option(name: .long, help: ArgumentHelp("Permission bits of the socket file, in octal. [env: LEDGER_SOCKET_MODE] (default: 0660)", valueName: "mode"))
    var socketMode: String?

    @Option(name: .long, help: ArgumentHelp("Most events committed in one transaction. [env: LEDGER_COMMIT_BATCH] (default: 10000; 2000 with --store memory)", valueName: "n"))
    var commitBatch: String?

    @Option(
        name: .long,
        help: ArgumentHelp("Longest wait, in milliseconds, for a batch to fill before committing; with 0 a batch is what gathered during the previous commit. [env: LEDGER_COMMIT_DELAY_MS] (default: 0)", valueName: "ms")
    )
    var commitDelayMs: String?

    @Option(
        name: .long,
        help: ArgumentHelp("Events held uncommitted before the daemon stops reading from clients. [env: LEDGER_QUEUE_CAPACITY] (default: 20000; 4000 with --store memory)", valueName: "n")
    )
    var queueCapacity: String?

    @Option(
        name: .long,
        help: ArgumentHelp(
            "Bytes of events held uncommitted before the daemon stops reading from clients, however few events that is. [env: LEDGER_QUEUE_BYTES] (default: 33554432)",
            valueName: "bytes"))
    var queueBytes: String?

    @Option(
        name: .long,
        help: ArgumentHelp(
            "Bytes of committed events buffered for each live tail; a tail that reads slower misses events and is told how many. [env: LEDGER_TAIL_BUFFER_BYTES] (default: 2097152)",
            valueName: "bytes"))
    var tailBufferBytes: String?

    @Option(name: .long, help: ArgumentHelp("Unix-socket connections served at once; more get TOO_MANY_CONNECTIONS. TLS peers have their own limit, --tls-max-connections. [env: LEDGER_MAX_CONNECTIONS] (default: 1024)", valueName: "n"))
    var maxConnections: String?

    @Option(
        name: .long,
        help: ArgumentHelp(
            "Bytes of answers a connection may be owed before the daemon stops reading from it (one larger answer is let in alone). [env: LEDGER_MAX_ANSWER_BYTES] (default: 1048576)",
            valueName: "bytes"))
    var maxAnswerBytes: String?

    @Option(name: .long, help: ArgumentHelp("Most events in one log_batch. [env: LEDGER_MAX_BATCH_EVENTS] (default: 10000)", valueName: "n"))
    var maxBatchEvents: String?

    @Option(
        name: .long,
        help: ArgumentHelp("Stop a query that runs longer than this many seconds, with QUERY_TIMEOUT; 0 lets queries run. [env: LEDGER_QUERY_TIMEOUT] (default: 5)", valueName: "seconds"))
    var queryTimeout: String?

    @Option(name: .long, help: ArgumentHelp("Queries answered side by side, each on a connection of its own to the store. [env: LEDGER_READERS] (default: 2)", valueName: "n"))
    var readers: String?

    @Option(name: .long, help: ArgumentHelp("Largest page a query may ask for, in events. [env: LEDGER_MAX_QUERY_LIMIT] (default: 1000)", valueName: "n"))
    var maxQueryLimit: String?

    @Option(
        name: .long,
        help: ArgumentHelp(
            "Close connections quiet for this many seconds, with IDLE_TIMEOUT; tails are exempt, 0 never closes. [env: LEDGER_IDLE_TIMEOUT] (default: 0)",
            valueName: "seconds"))
    var idleTimeout: String?

    @Option(
        name: .long,
        help: ArgumentHelp(
            "Close a peer whose frame does not arrive whole within this many seconds of its first byte, with FRAME_TIMEOUT; 0 turns it off. [env: LEDGER_FRAME_DEADLINE] (default: 10)",
            valueName: "seconds"))
    var frameDeadline: String?

    @Option(
        name: .long,
        help: ArgumentHelp(
            "While idle, check the store this often, in seconds, so stats' store_available is current. [env: LEDGER_STORE_CHECK_INTERVAL] (default: 5)",
            valueName: "seconds"))
    var storeCheckInterval: String?

    @Option(name: .long, help: ArgumentHelp("Longest frame accepted, in bytes. [env: LEDGER_MAX_FRAME_BYTES] (default: 1048576)", valueName: "bytes"))
    var maxFrameBytes: String?

    @Option(name: .long, help: ArgumentHelp("Log level: trace, debug, info, notice, warning, error, critical. [env: LEDGER_LOG_LEVEL] (default: info)", valueName: "level"))
    var logLevel: String?

    @Option(
        name: .long,
        help: ArgumentHelp(
            "Only these uids (comma-separated), besides ledgerd's own, may use the socket; checked with SO_PEERCRED on every connection. [env: LEDGER_ALLOW_UID] (default: anyone the socket's mode lets in)",
            valueName: "uids"))
    var allowUid: String?

    @Option(
        name: .long,
        help: ArgumentHelp(
            "Also listen for remote debugging on this TCP address, TLS only, client certificates required; port 0 picks a free port. [env: LEDGER_TLS_LISTEN] (default: no TCP listener)",
            valueName: "host:port"))
    var tlsListen: String?

    @Option(name: .long, help: ArgumentHelp("The TLS listener's certificate chain, PEM. [env: LEDGER_TLS_CERT]", valueName: "pem"))
    var tlsCert: String?

    @Option(name: .long, help: ArgumentHelp("The TLS listener's private key, PEM. [env: LEDGER_TLS_KEY]", valueName: "pem"))
    var tlsKey: String?

    @Option(
        name: .long,
        help: ArgumentHelp("CA certificates, PEM, that issue the client certificates TLS peers must present. [env: LEDGER_TLS_CLIENT_CA]", valueName: "pem"))
    var tlsClientCa: String?

    @Option(
        name: .long,
        help: ArgumentHelp("TLS connections served at once, apart from the socket's; more get TOO_MANY_CONNECTIONS. [env: LEDGER_TLS_MAX_CONNECTIONS] (default: 64)", valueName: "n"))
    var tlsMaxConnections: String?

    @Option(
        name: .long,
        help: ArgumentHelp("Close a TLS peer whose handshake has not finished this many seconds after it connected. [env: LEDGER_TLS_HANDSHAKE_TIMEOUT] (default: 10)", valueName: "seconds"))
    var tlsHandshakeTimeout: String?

    @Flag(name: .long, help: "Let TLS peers log events too; by default they may only query, read stats and tail. [env: LEDGER_TLS_ALLOW_WRITES=1]")
    var tlsAllowWrites = false

    func run() async throws {
        signal(SIGPIPE, SIG_IGN)
        // A closed terminal (SIGHUP) must not stop an audit ledger; only SIGTERM and SIGINT do.
        signal(SIGHUP, SIG_IGN)
        GlibcMalloc.returnLargeBuffersToTheSystem()
        let environment = ProcessInfo.processInfo.environment
        let settings = DaemonSettings(environment: environment)
        let uid = UInt32(getuid())

        let level = try settings.value(self.logLevel, env: "LEDGER_LOG_LEVEL", default: Logger.Level.info, expected: "one of trace, debug, info, notice, warning, error, critical") { Logger.Level(rawValue: $0.lowercased()) }
        var logger = Logger(label: "ledgerd") { StreamLogHandler.standardError(label: $0) }
        logger.logLevel = level

        let socketPath = try settings.value(self.socket, env: "LEDGER_SOCKET", default: LedgerDefaults.socketPath(environment: environment, userID: uid), expected: "a socket path") {
            $0.isEmpty ? nil : $0
        }
        let defaultStore = LedgerDefaults.sqlitePath(environment: environment, userID: uid).map { "sqlite:" + $0 }
        let chosenStore: String? = try settings.value(self.store, env: "LEDGER_STORE", default: defaultStore, expected: "a store URI") { $0 }
        guard let storeText = chosenStore else {
            throw ValidationError("no place for the ledger: HOME and XDG_DATA_HOME are unset; give --store (or LEDGER_STORE), or set one of them")
        }
        let storeLocation: StoreLocation
        do {
            storeLocation = try StoreLocation(parsing: storeText)
        } catch {
            throw ValidationError("--store: \(error.message)")
        }

        var configuration = LedgerServerConfiguration(socketPath: socketPath, sizedFor: storeLocation)
        // Only the default places are made; a path the user typed must already have its directory.
        configuration.createsSocketDirectory = settings.isDefault(self.socket, env: "LEDGER_SOCKET")
        configuration.createsStoreDirectory = settings.isDefault(self.store, env: "LEDGER_STORE")
        configuration.socketMode = try settings.value(self.socketMode, env: "LEDGER_SOCKET_MODE", default: 0o660, expected: "octal permission bits from 0 to 0777, such as 0660") {
            UInt16($0, radix: 8).flatMap { $0 <= 0o777 ? $0 : nil }
        }
        configuration.commitBatchSize = try settings.value(self.commitBatch, env: "LEDGER_COMMIT_BATCH", default: configuration.commitBatchSize, expected: "a whole number from 1 to 100000") {
            Int($0).flatMap { (1...100_000).contains($0) ? $0 : nil }
        }
        configuration.commitDelay = .milliseconds(
            try settings.value(self.commitDelayMs, env: "LEDGER_COMMIT_DELAY_MS", default: Int(configuration.commitDelay / .milliseconds(1)), expected: "a whole number of milliseconds from 0 to 1000") {
                Int($0).flatMap { (0...1_000).contains($0) ? $0 : nil }
            })
        configuration.ingestQueueCapacity = try settings.value(self.queueCapacity, env: "LEDGER_QUEUE_CAPACITY", default: configuration.ingestQueueCapacity, expected: "a whole number from 1 to 10000000") {
            Int($0).flatMap { (1...10_000_000).contains($0) ? $0 : nil }
        }
        configuration.maximumFrameLength = try settings.value(self.maxFrameBytes, env: "LEDGER_MAX_FRAME_BYTES", default: configuration.maximumFrameLength, expected: "a number of bytes from 1024 to 67108864") {
            Int($0).flatMap { (1024...(64 << 20)).contains($0) ? $0 : nil }
        }
        configuration.maximumConnections = try settings.value(self.maxConnections, env: "LEDGER_MAX_CONNECTIONS", default: configuration.maximumConnections, expected: "a whole number from 1 to 1000000") {
            Int($0).flatMap { (1...1_000_000).contains($0) ? $0 : nil }
        }
        configuration.ingestQueueBytes = try settings.value(self.queueBytes, env: "LEDGER_QUEUE_BYTES", default: configuration.ingestQueueBytes, expected: "a number of bytes from 1048576 (1 MiB) to 17179869184 (16 GiB)") {
            Int($0).flatMap { ((1 << 20)...(16 << 30)).contains($0) ? $0 : nil }
        }
        configuration.tailBufferBytes = try settings.value(self.tailBufferBytes, env: "LEDGER_TAIL_BUFFER_BYTES", default: configuration.tailBufferBytes, expected: "a number of bytes from 65536 (64 KiB) to 1073741824 (1 GiB)") {
            Int($0).flatMap { ((64 << 10)...(1 << 30)).contains($0) ? $0 : nil }
        }
        configuration.pendingResponseBytesPerConnection = try settings.value(
            self.maxAnswerBytes, env: "LEDGER_MAX_ANSWER_BYTES", default: configuration.pendingResponseBytesPerConnection,
            expected: "a number of bytes from 65536 (64 KiB) to 1073741824 (1 GiB)"
        ) {
            Int($0).flatMap { ((64 << 10)...(1 << 30)).contains($0) ? $0 : nil }
        }
        let querySeconds = try settings.value(self.queryTimeout, env: "LEDGER_QUERY_TIMEOUT", default: 5, expected: "a whole number of seconds from 0 (no limit) to 3600") { Int($0).flatMap { (0...3_600).contains($0) ? $0 : nil } }
        configuration.readLimits.queryTimeout = querySeconds == 0 ? nil : .seconds(querySeconds)
        configuration.readLimits.readers = try settings.value(self.readers, env: "LEDGER_READERS", default: configuration.readLimits.readers, expected: "a whole number from 1 to 64") {
            Int($0).flatMap { (1...64).contains($0) ? $0 : nil }
        }
        configuration.maximumTLSConnections = try settings.value(self.tlsMaxConnections, env: "LEDGER_TLS_MAX_CONNECTIONS", default: configuration.maximumTLSConnections, expected: "a whole number from 1 to 100000") {
            Int($0).flatMap { (1...100_000).contains($0) ? $0 : nil }
        }
        let handshakeSeconds = try settings.value(self.tlsHandshakeTimeout, env: "LEDGER_TLS_HANDSHAKE_TIMEOUT", default: 10, expected: "a whole number of seconds from 1 to 600") {
            Int($0).flatMap { (1...600).contains($0) ? $0 : nil }
        }
        configuration.tlsHandshakeTimeout = .seconds(handshakeSeconds)
        configuration.maximumBatchEvents = try settings.value(self.maxBatchEvents, env: "LEDGER_MAX_BATCH_EVENTS", default: configuration.maximumBatchEvents, expected: "a whole number from 1 to 65535") {
            Int($0).flatMap { (1...65_535).contains($0) ? $0 : nil }
        }
        configuration.maximumQueryLimit = try settings.value(self.maxQueryLimit, env: "LEDGER_MAX_QUERY_LIMIT", default: configuration.maximumQueryLimit, expected: "a whole number from 1 to 100000") {
            UInt32($0).flatMap { (1...100_000).contains($0) ? $0 : nil }
        }
        let idleSeconds = try settings.value(self.idleTimeout, env: "LEDGER_IDLE_TIMEOUT", default: 0, expected: "a whole number of seconds from 0 (never) to 604800") { Int($0).flatMap { (0...604_800).contains($0) ? $0 : nil } }
        configuration.idleTimeout = idleSeconds == 0 ? nil : .seconds(idleSeconds)
        let frameSeconds = try settings.value(self.frameDeadline, env: "LEDGER_FRAME_DEADLINE", default: 10, expected: "a whole number of seconds from 0 (off) to 3600") { Int($0).flatMap { (0...3_600).contains($0) ? $0 : nil } }
        configuration.frameDeadline = frameSeconds == 0 ? nil : .seconds(frameSeconds)
        configuration.storeCheckInterval = .seconds(
            try settings.value(self.storeCheckInterval, env: "LEDGER_STORE_CHECK_INTERVAL", default: 5, expected: "a whole number of seconds from 1 to 3600") {
                Int($0).flatMap { (1...3_600).contains($0) ? $0 : nil }
            })

        configuration.allowedUIDs = try settings.value(self.allowUid, env: "LEDGER_ALLOW_UID", default: nil as Set<UInt32>?, expected: "numeric uids separated by commas, such as 0,1001 (user names are not looked up)") {
            (text: String) -> Set<UInt32>?? in
            let parts = text.split(separator: ",").map { $0.trimmingCharacters(in: .whitespaces) }
            let uids = parts.compactMap { UInt32($0) }
            guard uids.count == parts.count, !uids.isEmpty else { return .none }
            return .some(Set(uids))
        }
        configuration.tls = try self.tlsConfiguration(settings)
        let descriptors = FileDescriptorLimit.raise()
        let fitted = FileDescriptorLimit.fit(
            socket: configuration.maximumConnections, tls: configuration.tls == nil ? 0 : configuration.maximumTLSConnections, available: descriptors)
        if fitted.lowered {
            logger.warning(
                "connection limits lowered to fit the file-descriptor limit; raise it (ulimit -n, LimitNOFILE=) to serve more",
                metadata: ["descriptors": "\(descriptors)", "max_connections": "\(fitted.socket)", "tls_max_connections": "\(fitted.tls)"])
            configuration.maximumConnections = fitted.socket
            if configuration.tls != nil { configuration.maximumTLSConnections = fitted.tls }
        }

        let daemon = LedgerDaemon(configuration: configuration, store: storeLocation, logger: logger)
        do {
            try await daemon.run { listening in
                let tls = listening.tlsAddress.map { " tls=\($0)" } ?? ""
                FileHandle.standardError.write(Data("ready socket=\(listening.socketPath)\(tls) store=\(storeLocation)\n".utf8))
            }
        } catch let error as TLSListenerConfiguration.Error {
            FileHandle.standardError.write(Data("ledgerd: \(error)\n".utf8))
            throw ExitCode.failure
        } catch let error as StoreError {
            FileHandle.standardError.write(Data("ledgerd: store \(storeLocation): \(error)\n".utf8))
            throw ExitCode.failure
        } catch {
            FileHandle.standardError.write(Data("ledgerd: \(error)\n".utf8))
            throw ExitCode.failure
        }
    }
}

extension Ledgerd {
    /// The TLS listener, when --tls-listen is given; its three files are required together.
    func tlsConfiguration(_ settings: DaemonSettings) throws -> TLSListenerConfiguration? {
        let address = try settings.value(self.tlsListen, env: "LEDGER_TLS_LISTEN", default: nil as (host: String, port: Int)?, expected: "HOST:PORT, such as 127.0.0.1:7443 or [::1]:7443") {
            Self.parseAddress($0).map { Optional($0) }
        }
        let certificate = try settings.value(self.tlsCert, env: "LEDGER_TLS_CERT", default: nil as String?, expected: "a PEM file path") { $0 }
        let key = try settings.value(self.tlsKey, env: "LEDGER_TLS_KEY", default: nil as String?, expected: "a PEM file path") { $0 }
        let authority = try settings.value(self.tlsClientCa, env: "LEDGER_TLS_CLIENT_CA", default: nil as String?, expected: "a PEM file path") { $0 }
        guard let address else {
            if certificate != nil || key != nil || authority != nil {
                throw ValidationError("--tls-cert, --tls-key and --tls-client-ca need --tls-listen HOST:PORT")
            }
            return nil
        }
        guard let certificate, let key, let authority else {
            let missing = [("--tls-cert", certificate), ("--tls-key", key), ("--tls-client-ca", authority)].filter { $0.1 == nil }.map(\.0)
            throw ValidationError("--tls-listen needs \(missing.joined(separator: ", ")): there is no TLS without a certificate, nor without client certificates")
        }
        var tls = TLSListenerConfiguration(
            host: address.host, port: address.port, certificatePath: certificate, privateKeyPath: key, clientCAPath: authority)
        tls.allowWrites = self.tlsAllowWrites || settings.environment["LEDGER_TLS_ALLOW_WRITES"] == "1"
        return tls
    }

    /// `127.0.0.1:7443`, `localhost:0`, `[::1]:7443`.
    static func parseAddress(_ text: String) -> (host: String, port: Int)? {
        guard let colon = text.lastIndex(of: ":") else { return nil }
        var host = String(text[..<colon])
        if host.hasPrefix("["), host.hasSuffix("]") { host = String(host.dropFirst().dropLast()) }
        guard !host.isEmpty, let port = Int(text[text.index(after: colon)...]), (0...65_535).contains(port) else { return nil }
        return (host, port)
    }
}

/// Resolves each setting from its flag, then its environment variable, then its default,
/// and names the flag or variable when a value does not parse.
struct DaemonSettings {
    let environment: [String: String]

    /// - Parameter expected: what a valid value looks like, for the error that names a bad one.
    func value<Value>(
        _ flag: String?, env name: String, default defaultValue: Value, expected: String, parse: (String) -> Value?
    ) throws -> Value {
        if let flag {
            guard let value = parse(flag) else {
                throw ValidationError("--\(Self.flagName(forEnvironment: name)) \"\(flag)\" is not valid: expected \(expected)")
            }
            return value
        }
        if let text = self.environment[name], !text.isEmpty {
            guard let value = parse(text) else {
                throw ValidationError("environment variable \(name)=\"\(text)\" is not valid: expected \(expected)")
            }
            return value
        }
        return defaultValue
    }

    /// Whether neither the flag nor its variable was given, so the default applies.
    func isDefault(_ flag: String?, env name: String) -> Bool {
        flag == nil && (self.environment[name]?.isEmpty ?? true)
    }

    static func flagName(forEnvironment name: String) -> String {
        name.dropFirst("LEDGER_".count).lowercased().replacingOccurrences(of: "_", with: "-")
    }
}
