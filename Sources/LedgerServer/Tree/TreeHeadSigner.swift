import LedgerFiles
import LedgerProtocol
import LedgerStore
import LedgerTree
import Logging
import ServiceLifecycle

/// Signs the daemon's log's tree head once a second while events arrive, once more as the daemon
/// stops, and when `ledger-rpc head` asks (waiting for the second to be up); each head is kept in
/// the store, and thinned as it ages (`HeadThinning`).
///
/// It only signs what the store says is durable, so no head ever covers a leaf a crash could lose.
public actor TreeHeadSigner: Service {
    let key: LogKey
    let store: any EventStore
    let interval: Duration
    let logger: Logger
    /// Where each signed tree is remembered outside the store, when the key is a file.
    let lastTree: LastSignedTree?
    private var latest: SignedTreeHead?
    private var lastSigning: ContinuousClock.Instant?
    /// The size last written to `lastTree`, which only grows; and whether the last write failed, said once.
    private var remembered: UInt64 = 0
    private var rememberingFailed = false
    /// Heads from this size on are still to be judged by `HeadThinning`, and not before this instant.
    private var thinnedThrough: UInt64 = 0
    private var nextThinning = ContinuousClock.now

    public init(key: LogKey, store: any EventStore, interval: Duration = .seconds(1), lastTree: LastSignedTree? = nil, logger: Logger) {
        self.key = key
        self.store = store
        self.interval = interval
        self.lastTree = lastTree
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
                await self.thinHeads()
            }
        }
        // The batch writer has drained by now (it stops before this service, retention before it):
        // the last commits get a head too, and the file says nothing follows it.
        do {
            if let head = try await self.signIfGrown(), let state = try await self.store.treeState(), state.size == head.treeSize {
                self.remember(state, stopped: true)
            }
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
        self.remember(state)
        return head
    }

    /// One slice of the log's aging heads judged and thinned (`HeadThinning`), each second until
    /// every head old enough was judged, then again after a rest.
    func thinHeads() async {
        guard ContinuousClock.now >= self.nextThinning else { return }
        do {
            guard let source = try await self.store.treeSource() else {
                self.nextThinning = .now + HeadThinning.restAfterPass
                return
            }
            let page = try await source.heads(logID: self.key.publicKey.logID.bytes, fromSize: self.thinnedThrough, limit: HeadThinning.pageSize)
            let cutoff = LedgerTimestamp(rawValue: LedgerTimestamp.now().rawValue - HeadThinning.keepsEveryHeadFor)
            let judged = HeadThinning.judge(page, before: cutoff)
            try await self.store.removeHeads(sizes: judged.remove)
            if let last = judged.judged { self.thinnedThrough = last + 1 }
            if judged.caughtUp { self.nextThinning = .now + HeadThinning.restAfterPass }
        } catch {
            self.nextThinning = .now + HeadThinning.restAfterPass
            self.logger.warning("could not thin the log's heads older than a week; they are kept until the next try", metadata: ["error": "\(error)"])
        }
    }

    /// Writes the tree just signed to `lastTree`; a failure is logged once until a write succeeds,
    /// and costs only the check at the next start.
    private func remember(_ state: LogTreeState, stopped: Bool = false) {
        guard let lastTree, state.size >= self.remembered else { return }
        do {
            try lastTree.write(state, stopped: stopped)
            self.remembered = state.size
            self.rememberingFailed = false
        } catch {
            if !self.rememberingFailed {
                self.logger.warning(
                    "could not remember the tree just signed; at its next start ledgerd cannot check that the store still extends it",
                    metadata: ["error": "\(error)"])
            }
            self.rememberingFailed = true
        }
    }
}
