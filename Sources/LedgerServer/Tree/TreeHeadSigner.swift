import LedgerFiles
import LedgerProtocol
import LedgerStore
import LedgerTree
import Logging
import ServiceLifecycle

/// Signs the daemon's log's tree head once a second while events arrive, once more as the daemon
/// stops, and when `ledger-rpc head` asks (waiting for the second to be up); each head is kept in the store.
///
/// It only signs what the store says is durable, so no head ever covers a leaf a crash could lose.
public actor TreeHeadSigner: Service {
    let key: LogKey
    let store: any EventStore
    let interval: Duration
    let logger: Logger
    private var latest: SignedTreeHead?
    private var lastSigning: ContinuousClock.Instant?

    public init(key: LogKey, store: any EventStore, interval: Duration = .seconds(1), logger: Logger) {
        self.key = key
        self.store = store
        self.interval = interval
        self.logger = logger
    }

    public var publicKey: LogPublicKey { self.key.publicKey }

    public func run() async throws {
        await cancelWhenGracefulShutdown {
            while !Task.isCancelled {
                do {
                    try await Task.sleep(for: self.interval)
                } catch {
                    break
                }
                _ = try? await self.signIfGrown()
            }
        }
        // The batch writer has drained by now (it stops before this service): the last commits get a head too.
        do {
            _ = try await self.signIfGrown()
        } catch {
            self.logger.warning("could not sign the final tree head", metadata: ["error": "\(error)"])
        }
    }

    /// The newest head, signed now if the tree grew since the last one.
    public func signIfGrown() async throws -> SignedTreeHead? {
        guard let state = try await self.store.treeState() else { return nil }
        if let latest = self.latest, latest.treeSize == state.size { return latest }
        if self.latest == nil, let stored = try await self.store.treeSource()?.latestHead(logID: state.logID), stored.treeSize == state.size {
            self.latest = stored
            return stored
        }
        // At most one head an interval, whoever asks: each head is a row the store keeps, so a client
        // asking for heads in a loop while events arrive stores no more of them than the clock does.
        // It waits rather than answering with an older head: whoever asks has seen their events acknowledged.
        if let last = self.lastSigning, last.duration(to: .now) < self.interval {
            try await Task.sleep(until: last + self.interval)
            return try await self.signIfGrown()
        }
        self.lastSigning = .now
        let head = try self.key.sign(size: state.size, root: state.root, timestamp: .now())
        try await self.store.storeHead(head)
        self.latest = head
        return head
    }
}
