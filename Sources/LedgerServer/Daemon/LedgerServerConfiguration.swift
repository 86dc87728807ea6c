import LedgerProtocol
import LedgerStore

/// Everything the daemon's listener, ingest path and limits can be tuned by.
public struct LedgerServerConfiguration: Sendable {
    /// Path of the Unix domain socket.
    public var socketPath: String
    /// Where `/metrics` is served for Prometheus; nil serves none.
    public var metricsListen: MetricsListenerConfiguration?
    /// A listening Unix socket the service manager passed (socket activation), served as it is:
    /// not created, given a mode, nor removed on exit, so clients keep reaching it across restarts.
    public var activatedSocket: CInt?
    /// Whether the socket's directory is made when missing; only the default location's is, so a
    /// mistyped `--socket` is an error rather than a new directory.
    public var createsSocketDirectory = true
    /// Whether a SQLite store's missing directory is made, for the same reason.
    public var createsStoreDirectory = true
    /// How often an idle daemon checks that its store is still there, for `store_available`.
    public var storeCheckInterval: Duration = .seconds(5)
    /// Permission bits given to the socket file; only these users may connect.
    public var socketMode: UInt16 = 0o660
    /// When set, only these uids (and the daemon's own) may use the socket, checked with SO_PEERCRED.
    public var allowedUIDs: Set<UInt32>?
    /// Longest frame accepted (the length prefix's value).
    public var maximumFrameLength: Int = LedgerFrame.defaultMaximumLength
    /// Most events one log_batch may carry.
    public var maximumBatchEvents: Int = 10_000
    /// Unix-socket connections served at once; past it a new one gets TOO_MANY_CONNECTIONS.
    public var maximumConnections: Int = 1_024
    /// TLS connections served at once, counted apart from the socket's so that remote peers can
    /// never take a local service's slot; past it a new one gets TOO_MANY_CONNECTIONS.
    public var maximumTLSConnections: Int = 64
    /// A TLS peer must finish its handshake within this time of connecting, or it is closed.
    public var tlsHandshakeTimeout: Duration = .seconds(10)
    /// Close a connection that sends nothing and is sent nothing for this long; nil never does.
    /// Live tails are exempt. Off by default: services keep one quiet connection for their whole life.
    public var idleTimeout: Duration?
    /// A frame must arrive whole within this time of its first byte (time the daemon itself is
    /// not reading does not count); nil turns the check off.
    public var frameDeadline: Duration? = .seconds(10)
    /// Largest page a query may ask for, in events.
    public var maximumQueryLimit: UInt32 = 1_000
    /// Largest page a query gets, in bytes; a longer page is cut short and its cursor leads on.
    public var maximumResponseBytes: Int = 4 << 20
    /// Group commit: at most this many events per transaction. Under a deep backlog a larger
    /// transaction writes each dirtied index page once for more events (BENCHMARKS.md).
    public var commitBatchSize: Int = 10_000
    /// Group commit: how long the writer waits for a batch to fill before committing what it has.
    /// None by default, as PostgreSQL's `commit_delay`: while one commit is written the next batch
    /// gathers anyway, and a wait only idles the writer when clients wait for their acks (BENCHMARKS.md).
    public var commitDelay: Duration = .zero
    /// Events received but not yet committed; past this the daemon stops reading from clients.
    /// Two default batches: enough to keep the writer busy through a burst, and at about 430 bytes
    /// an event (measured under overload) about 9 MiB.
    public var ingestQueueCapacity: Int = 20_000
    /// Responses a connection may have waiting to be written before the daemon stops reading from it.
    public var pendingResponsesPerConnection: Int = 1_024
    /// Bytes of responses a connection may have waiting to be written before the daemon stops
    /// reading from it (a larger single answer, up to `maximumResponseBytes`, is let in alone).
    /// With `maximumConnections` it bounds what all connections' answers can make the daemon hold.
    public var pendingResponseBytesPerConnection: Int = 1 << 20
    /// On graceful shutdown, how long a connection may take to read the answers it is owed
    /// before it is closed with them unwritten. Longer than the writer's wait for a store that
    /// is down (`StoreRetryPolicy.shutdownLimit`), so refusals from it are still delivered.
    public var shutdownAnswerDeadline: Duration = .seconds(15)
    /// A connection being closed (after a closing error: a broken frame, an idle peer, a frame
    /// left open) waits this long at most for its peer to read the frames still owed, the error
    /// last, and is then closed with them unwritten: a peer that has stopped reading cannot keep
    /// its connection, and what the daemon holds for it, by filling its socket.
    public var closingDeadline: Duration = .seconds(5)
    /// Committed events buffered for each live tail before a slow reader starts missing them.
    public var tailBufferEvents: Int = 10_000
    /// Bytes of committed events buffered for each live tail, however few events that is.
    public var tailBufferBytes: Int = 2 << 20
    /// Bytes of events received but not yet committed; past this, as past `ingestQueueCapacity`,
    /// the daemon stops reading from clients. It keeps large events from making the queue large.
    public var ingestQueueBytes: Int = 32 << 20
    /// Queries answered side by side, and how long each may run before the store stops it (QUERY_TIMEOUT).
    public var readLimits = StoreReadLimits()
    /// The TLS listener for remote peers; nil (the default) means none: there is never plaintext TCP.
    public var tls: TLSListenerConfiguration?
    /// How long each kind of event is kept; by default everything, forever.
    public var retention: RetentionPolicy = .keepEverything
    /// How often the daemon looks for expired events (it also looks once at start).
    public var retentionInterval: Duration = .seconds(3_600)
    /// Name and version reported by ping and stats.
    public var serverName: String = "ledgerd/\(LedgerDefaults.version)"

    public init(socketPath: String) {
        self.socketPath = socketPath
    }

    /// The defaults, with group commit sized for the store.
    ///
    /// A durable store's commit costs a sync or a round trip and rewrites shared index pages, so
    /// large batches pay. The memory store's commit costs nothing, and a deep queue only lets
    /// events go cold in the cache before the store copies them: with 20,000 queued events it
    /// took 10 to 15% fewer events a second for more CPU (BENCHMARKS.md, Group commit defaults).
    public init(socketPath: String, sizedFor store: StoreLocation) {
        self.init(socketPath: socketPath)
        if case .memory = store {
            self.commitBatchSize = 2_000
            self.ingestQueueCapacity = 4_000
        }
    }
}
