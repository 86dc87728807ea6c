import ArgumentParser
import Foundation
import LedgerFiles
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
            standard error. Under systemd, ledgerd serves the sockets its socket unit passes \
            (LISTEN_FDS: a Unix one instead of --socket, a TCP one as the TLS listener instead of \
            --tls-listen), so clients that connect before it starts wait rather than fail; with \
            Type=notify it says READY=1 once it serves, a STATUS= line as it runs, STOPPING=1 \
            when it begins to shut down, and WATCHDOG=1 while its event loops answer when \
            WatchdogSec= is set. SIGHUP reads the TLS certificate, key and client CA again (new \
            handshakes use them; connections already made keep theirs; a file that is missing or \
            bad keeps the ones in use, and the log says why), and the --config file, whose log \
            level and retention policy take effect at once; a change to any other setting is \
            named in the log and waits for a restart. SIGHUP never stops the daemon, so \
            closing the terminal it was started from does not either.

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
    static let defaults = LedgerDaemonSettings.defaults
    static let memoryDefaults = LedgerDaemonSettings.memoryDefaults

    /// A duration as --help shows it: whole seconds, 0 for none.
    static func seconds(_ duration: Duration?) -> Int64 {
        duration?.components.seconds ?? 0
    }

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

    @Option(name: .long, help: ArgumentHelp("Permission bits of the socket file, in octal. [env: LEDGER_SOCKET_MODE] (default: 0\(String(Ledgerd.defaults.socketMode, radix: 8)))", valueName: "mode"))
    var socketMode: String?

    @Option(name: .long, help: ArgumentHelp("Most events committed in one transaction. [env: LEDGER_COMMIT_BATCH] (default: \(Ledgerd.defaults.commitBatchSize); \(Ledgerd.memoryDefaults.commitBatchSize) with --store memory)", valueName: "n"))
    var commitBatch: String?

    @Option(
        name: .long,
        help: ArgumentHelp("Longest wait, in milliseconds, for a batch to fill before committing; with 0 a batch is what gathered during the previous commit. [env: LEDGER_COMMIT_DELAY_MS] (default: \(Int(Ledgerd.defaults.commitDelay / .milliseconds(1))))", valueName: "ms")
    )
    var commitDelayMs: String?

    @Option(
        name: .long,
        help: ArgumentHelp("Events held uncommitted before the daemon stops reading from clients. [env: LEDGER_QUEUE_CAPACITY] (default: \(Ledgerd.defaults.ingestQueueCapacity); \(Ledgerd.memoryDefaults.ingestQueueCapacity) with --store memory)", valueName: "n")
    )
    var queueCapacity: String?

    @Option(
        name: .long,
        help: ArgumentHelp(
            "Bytes of events held uncommitted before the daemon stops reading from clients, however few events that is. [env: LEDGER_QUEUE_BYTES] (default: \(Ledgerd.defaults.ingestQueueBytes))",
            valueName: "bytes"))
    var queueBytes: String?

    @Option(
        name: .long,
        help: ArgumentHelp(
            "Bytes of committed events buffered for each live tail; a tail that reads slower misses events and is told how many. [env: LEDGER_TAIL_BUFFER_BYTES] (default: \(Ledgerd.defaults.tailBufferBytes))",
            valueName: "bytes"))
    var tailBufferBytes: String?

    @Option(name: .long, help: ArgumentHelp("Unix-socket connections served at once; more get TOO_MANY_CONNECTIONS. TLS peers have their own limit, --tls-max-connections. [env: LEDGER_MAX_CONNECTIONS] (default: \(Ledgerd.defaults.maximumConnections))", valueName: "n"))
    var maxConnections: String?

    @Option(
        name: .long,
        help: ArgumentHelp(
            "Bytes of answers a connection may be owed before the daemon stops reading from it (one larger answer is let in alone). [env: LEDGER_MAX_ANSWER_BYTES] (default: \(Ledgerd.defaults.pendingResponseBytesPerConnection))",
            valueName: "bytes"))
    var maxAnswerBytes: String?

    @Option(name: .long, help: ArgumentHelp("Most events in one log_batch. [env: LEDGER_MAX_BATCH_EVENTS] (default: \(Ledgerd.defaults.maximumBatchEvents))", valueName: "n"))
    var maxBatchEvents: String?

    @Option(
        name: .long,
        help: ArgumentHelp("Stop a query that runs longer than this many seconds, with QUERY_TIMEOUT; 0 lets queries run. [env: LEDGER_QUERY_TIMEOUT] (default: \(Ledgerd.seconds(Ledgerd.defaults.readLimits.queryTimeout)))", valueName: "seconds"))
    var queryTimeout: String?

    @Option(name: .long, help: ArgumentHelp("Queries answered side by side, each on a connection of its own to the store. [env: LEDGER_READERS] (default: \(Ledgerd.defaults.readLimits.readers))", valueName: "n"))
    var readers: String?

    @Option(name: .long, help: ArgumentHelp("Largest page a query may ask for, in events. [env: LEDGER_MAX_QUERY_LIMIT] (default: \(Ledgerd.defaults.maximumQueryLimit))", valueName: "n"))
    var maxQueryLimit: String?

    @Option(
        name: .long,
        help: ArgumentHelp(
            "Close connections quiet for this many seconds, with IDLE_TIMEOUT; tails are exempt, 0 never closes. [env: LEDGER_IDLE_TIMEOUT] (default: \(Ledgerd.seconds(Ledgerd.defaults.idleTimeout)))",
            valueName: "seconds"))
    var idleTimeout: String?

    @Option(
        name: .long,
        help: ArgumentHelp(
            "Close a peer whose frame does not arrive whole within this many seconds of its first byte, with FRAME_TIMEOUT; 0 turns it off. [env: LEDGER_FRAME_DEADLINE] (default: \(Ledgerd.seconds(Ledgerd.defaults.frameDeadline)))",
            valueName: "seconds"))
    var frameDeadline: String?

    @Option(
        name: .long,
        help: ArgumentHelp(
            "While idle, check the store this often, in seconds, so stats' store_available is current. [env: LEDGER_STORE_CHECK_INTERVAL] (default: \(Ledgerd.seconds(Ledgerd.defaults.storeCheckInterval)))",
            valueName: "seconds"))
    var storeCheckInterval: String?

    @Option(name: .long, help: ArgumentHelp("Longest frame accepted, in bytes. [env: LEDGER_MAX_FRAME_BYTES] (default: \(Ledgerd.defaults.maximumFrameLength))", valueName: "bytes"))
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
        help: ArgumentHelp("TLS connections served at once, apart from the socket's; more get TOO_MANY_CONNECTIONS. [env: LEDGER_TLS_MAX_CONNECTIONS] (default: \(Ledgerd.defaults.maximumTLSConnections))", valueName: "n"))
    var tlsMaxConnections: String?

    @Option(
        name: .long,
        help: ArgumentHelp("Close a TLS peer whose handshake has not finished this many seconds after it connected. [env: LEDGER_TLS_HANDSHAKE_TIMEOUT] (default: \(Ledgerd.seconds(Ledgerd.defaults.tlsHandshakeTimeout)))", valueName: "seconds"))
    var tlsHandshakeTimeout: String?

    @Flag(name: .long, help: "Let TLS peers log events too; by default they may only query, read stats and tail. [env: LEDGER_TLS_ALLOW_WRITES=1]")
    var tlsAllowWrites = false

    @Option(
        name: .long,
        help: ArgumentHelp(
            """
            How long to keep each kind of event, as comma-separated NAME=AGE rules: NAME a severity (INFO, WARN, ERROR) \
            or an event type, which wins over its severity; AGE a whole number with s, min, h, d, w or y (365 days), or \
            forever. For example 'INFO=30d,WARN=180d,video_uploaded=2y'. An event's age is counted from its timestamp. \
            Kinds without a rule are kept forever; gap records (ledger_gap) follow WARN unless named; each removal is \
            recorded as a ledger_retention event, kept unless named. [env: LEDGER_RETAIN] (default: forever)
            """, valueName: "rules"))
    var retain: String?

    @Option(
        name: .long,
        help: ArgumentHelp(
            "Look for expired events this often, in seconds, and once at start. [env: LEDGER_RETAIN_INTERVAL] (default: \(Ledgerd.seconds(Ledgerd.defaults.retentionInterval)))",
            valueName: "seconds"))
    var retainInterval: String?

    @Option(
        name: .long,
        help: ArgumentHelp(
            """
            Serve /metrics for Prometheus on PORT (on 127.0.0.1) or HOST:PORT, such as 9464 or 0.0.0.0:9464; an address beyond \
            loopback exposes the counters without authentication, and is served only when given. [env: LEDGER_METRICS_LISTEN] (default: off)
            """, valueName: "[host:]port"))
    var metricsListen: String?

    @Option(
        name: .long,
        help: ArgumentHelp(
            """
            Read LEDGER_* settings from this file (NAME=value lines, as a systemd EnvironmentFile), above the environment and below \
            the flags; SIGHUP reads it again and applies LEDGER_LOG_LEVEL and LEDGER_RETAIN. [env: LEDGER_CONFIG] (default: none)
            """, valueName: "file"))
    var config: String?

    @Option(
        name: .long,
        help: ArgumentHelp(
            """
            The Ed25519 private key (PEM, as 'ledger-rpc keygen' or 'openssl genpkey -algorithm ed25519' writes it) that signs the \
            log's tree heads, so that changed history can be proved (docs/VERIFY.md). Readable by its owner only. 'off' keeps no tree, \
            for measuring what it costs; nothing can then be verified. [env: LEDGER_SIGNING_KEY] \
            (default: ledger-signing.key beside the SQLite store, or in the data directory for PostgreSQL; made on first start, \
            its public key written beside it as .pub)
            """, valueName: "file"))
    var signingKey: String?

    /// The options as typed, for the library to resolve.
    var options: LedgerDaemonOptions {
        var options = LedgerDaemonOptions()
        options.socket = self.socket
        options.store = self.store
        options.socketMode = self.socketMode
        options.commitBatch = self.commitBatch
        options.commitDelayMs = self.commitDelayMs
        options.queueCapacity = self.queueCapacity
        options.queueBytes = self.queueBytes
        options.tailBufferBytes = self.tailBufferBytes
        options.maxConnections = self.maxConnections
        options.maxAnswerBytes = self.maxAnswerBytes
        options.maxBatchEvents = self.maxBatchEvents
        options.queryTimeout = self.queryTimeout
        options.readers = self.readers
        options.maxQueryLimit = self.maxQueryLimit
        options.idleTimeout = self.idleTimeout
        options.frameDeadline = self.frameDeadline
        options.storeCheckInterval = self.storeCheckInterval
        options.maxFrameBytes = self.maxFrameBytes
        options.logLevel = self.logLevel
        options.allowUid = self.allowUid
        options.tlsListen = self.tlsListen
        options.tlsCert = self.tlsCert
        options.tlsKey = self.tlsKey
        options.tlsClientCa = self.tlsClientCa
        options.tlsMaxConnections = self.tlsMaxConnections
        options.tlsHandshakeTimeout = self.tlsHandshakeTimeout
        options.tlsAllowWrites = self.tlsAllowWrites
        options.retain = self.retain
        options.retainInterval = self.retainInterval
        options.metricsListen = self.metricsListen
        options.config = self.config
        options.signingKey = self.signingKey
        return options
    }

    func run() async throws {
        signal(SIGPIPE, SIG_IGN)
        // A closed terminal (SIGHUP) must not stop an audit ledger; only SIGTERM and SIGINT do. Once the
        // daemon runs, SIGHUP reloads the TLS files instead (ReloadOnHangup).
        signal(SIGHUP, SIG_IGN)
        GlibcMalloc.returnLargeBuffersToTheSystem()
        let environment = ProcessInfo.processInfo.environment
        let settings: LedgerDaemonSettings
        let notifier: ServiceManagerNotifier
        var options = self.options
        do {
            options.activatedSockets = try SocketActivation.sockets(environment: environment)
            SocketActivation.forgetEnvironment()
            notifier = try ServiceManagerNotifier(environment: environment)
            settings = try LedgerDaemonSettings(options: options, environment: environment, userID: UInt32(getuid()))
        } catch let error as SocketActivation.Problem {
            throw ValidationError(error.description)
        } catch let error as ServiceManagerNotifier.Problem {
            throw ValidationError(error.description)
        } catch {
            throw ValidationError("\(error)")
        }
        let logLevel = LogLevelControl(settings.logLevel)
        let logger = Logger(label: "ledgerd") { logLevel.handler(StreamLogHandler.standardError(label: $0)) }
        var configuration = settings.configuration
        let storeLocation = settings.store
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

        let daemon = LedgerDaemon(configuration: configuration, store: storeLocation, signingKey: settings.signingKey, logger: logger)
        do {
            let reload = SettingsReload(options: options, environment: environment, userID: UInt32(getuid()), started: settings, logLevel: logLevel)
            try await daemon.run(notifier: notifier, settingsReload: reload) { listening in
                let tls = listening.tlsAddress.map { " tls=\($0)" } ?? ""
                let metrics = listening.metricsAddress.map { " metrics=\($0)" } ?? ""
                FileHandle.standardError.write(Data("ready socket=\(listening.socketPath)\(tls)\(metrics) store=\(storeLocation)\n".utf8))
            }
        } catch {
            let line = error is StoreError ? "store \(storeLocation): \(error)" : "\(error)"
            FileHandle.standardError.write(Data("ledgerd: \(line)\n".utf8))
            // The manager shows why the unit failed in `systemctl status`, beside the exit status.
            notifier.notify([ServiceManagerNotifier.status("failed: \(line)")])
            throw ExitCode.failure
        }
    }
}
