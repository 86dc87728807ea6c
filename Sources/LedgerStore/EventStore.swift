import LedgerProtocol
import LedgerTree

/// Where committed events live. The daemon talks to every backend through this.
///
/// One call of `insert(requests:)` is one transaction, and when it returns every event
/// in it is durable (or was already stored under its id). The batch writer uses
/// `commit(requests:)`, which may return before the commit is durable, so that a store
/// can make one batch durable while it commits the next. Implementations keep blocking
/// work off the caller's executor.
public protocol EventStore: Sendable {
    /// A one-line description for logs and stats, never containing a password.
    var description: String { get }

    /// Stores the events of several requests, in order, in one transaction; ids already present
    /// (or earlier in the same call) are skipped, not errors.
    ///
    /// The group-commit path takes the requests as they came, so a store that walks them in place
    /// spares every batch a copy of all its events into one array.
    /// - Returns: for each event, its commit sequence number, or nil when its id was already stored.
    func insert(requests: [[LedgerEvent]]) async throws(StoreError) -> [Int64?]

    /// Stores the events as `insert(requests:)` does, but may return once they are committed and
    /// before they are durable, which `StoreCommit.waitUntilDurable()` then waits for. Readers see
    /// them only once they are durable.
    func commit(requests: [[LedgerEvent]]) async throws(StoreError) -> StoreCommit

    /// As `commit(requests:)`, with each event's leaf already hashed up to its sequence, in the
    /// requests' shape, by whoever queued them; or none. A store keeping a tree then only finishes
    /// each leaf on its writer; the others ignore them.
    func commit(requests: [[LedgerEvent]], leaves: [[LeafPrefix]]) async throws(StoreError) -> StoreCommit

    /// One page of events matching the request's filter, in its order, after its cursor.
    func query(_ request: QueryRequest) async throws(StoreError) -> EventsResult

    /// How many events match the filter.
    func count(_ filter: EventFilter) async throws(StoreError) -> UInt64

    /// Up to `limit` events matching the filter that were committed after `sequence`, in commit order;
    /// how a live tail catches up before it follows new commits.
    func events(afterSequence sequence: Int64, matching filter: EventFilter, limit: Int) async throws(StoreError) -> [LedgerEvent]

    /// Per job type: jobs started, completed, failed and running in the window, their durations, the slowest.
    func jobsReport(_ request: JobsReportRequest) async throws(StoreError) -> JobsReport

    /// Failure counts per job type, event type or worker in the window.
    func failuresReport(_ request: FailuresReportRequest) async throws(StoreError) -> FailuresReport

    /// WARN and ERROR counts per bucket, event type and severity.
    func errorsReport(_ request: ErrorsReportRequest) async throws(StoreError) -> ErrorsReport

    /// One page of an entity's story with the jobs and clips linked to it, oldest first.
    func timeline(_ request: TimelineRequest) async throws(StoreError) -> EventsResult

    /// The commit sequence of the newest event a reader can see (0 when there is none): where a
    /// tail that starts now would resume from.
    func latestSequence() async throws(StoreError) -> Int64

    /// How many stored events the selection holds, and the range of their timestamps: what a
    /// retention pass announces before it removes them. With `cap`, only how many, counted no
    /// further than `cap` + 1, so that an operator's look at a large store stays cheap; without it
    /// the count is background work, exempt from the query budget.
    func expirySummary(_ selection: ExpirySelection, countingUpTo cap: UInt64?) async throws(StoreError) -> ExpirySummary

    /// Removes, in one transaction, up to `limit` of the selection's events after `cursor`, oldest
    /// first: one slice of a retention pass, small enough that commits never wait long behind it.
    func expire(_ selection: ExpirySelection, after cursor: EventCursor?, limit: Int) async throws(StoreError) -> ExpiryProgress

    /// Takes the right to remove expired events, so that of several daemons on one database only one
    /// purges at a time; false while another holds it.
    func claimRetention() async throws(StoreError) -> Bool

    /// Gives the right back.
    func releaseRetention() async

    /// Returns space that removals freed to the file system, one slice at a time where the backend
    /// can; true while more remains.
    func reclaimSpace() async throws(StoreError) -> Bool

    /// Finishes pending work and releases the backend; later calls fail with `StoreError.Code.closed`.
    func close() async

    /// What the backend counts of its own work, for `ledger-rpc stats`, by name.
    var counters: [StatsResult.Counter] { get }

    /// Keeps the tree of `key`'s log over every commit from now on, continuing it where the store
    /// left it (docs/VERIFY.md); a store that keeps nothing on disk ignores it. The first log of a
    /// store first takes the events stored before it as its first leaves; returns how many.
    @discardableResult
    func openLog(_ key: LogPublicKey) async throws(StoreError) -> UInt64

    /// This daemon's log's tree as of its newest durable commit, which a head may be signed for;
    /// nil for a store that keeps no tree.
    func treeState() async throws(StoreError) -> LogTreeState?

    /// Keeps a signed head of this daemon's log.
    func storeHead(_ head: SignedTreeHead) async throws(StoreError)

    /// Removes the heads of this daemon's log of these sizes, as they age (`HeadThinning`).
    func removeHeads(sizes: [UInt64]) async throws(StoreError)

    /// Reads the store's logs, for proofs and verification; nil for a store that keeps no tree.
    func treeSource() async throws(StoreError) -> (any TreeSource)?

    /// A cheap check that the store could take a write now, run while the daemon is idle so that
    /// `store_available` tells the truth without waiting for the next write to fail.
    func checkHealth() async throws(StoreError)
}

/// A log's tree at one size: what a head signs.
public struct LogTreeState: Sendable, Hashable {
    public var logID: [UInt8]
    /// The tree's right edge, which a head's signer keeps to check, at its next start, that the
    /// store still extends what it signed.
    public var frontier: TreeFrontier
    public var size: UInt64 { self.frontier.size }
    public var root: TreeHash { self.frontier.root }

    public init(logID: [UInt8], frontier: TreeFrontier) {
        self.logID = logID
        self.frontier = frontier
    }
}

extension EventStore {
    public var counters: [StatsResult.Counter] { [] }

    /// A store that keeps nothing on disk proves nothing to anyone later.
    public func openLog(_ key: LogPublicKey) async throws(StoreError) -> UInt64 { 0 }

    public func treeState() async throws(StoreError) -> LogTreeState? { nil }

    public func storeHead(_ head: SignedTreeHead) async throws(StoreError) {}

    public func removeHeads(sizes: [UInt64]) async throws(StoreError) {}

    public func treeSource() async throws(StoreError) -> (any TreeSource)? { nil }

    public func checkHealth() async throws(StoreError) {}

    /// The whole count, and the range of timestamps.
    public func expirySummary(_ selection: ExpirySelection) async throws(StoreError) -> ExpirySummary {
        try await self.expirySummary(selection, countingUpTo: nil)
    }

    /// A store with one writer, which nothing else shares, always has the right.
    public func claimRetention() async throws(StoreError) -> Bool { true }

    public func releaseRetention() async {}

    /// A backend that holds nothing on disk has nothing to give back.
    public func reclaimSpace() async throws(StoreError) -> Bool { false }

    /// A store whose commits are durable when they return.
    public func commit(requests: [[LedgerEvent]]) async throws(StoreError) -> StoreCommit {
        StoreCommit(sequences: try await self.insert(requests: requests))
    }

    /// A store that keeps no tree.
    public func commit(requests: [[LedgerEvent]], leaves: [[LeafPrefix]]) async throws(StoreError) -> StoreCommit {
        try await self.commit(requests: requests)
    }

    /// Stores the events in one transaction, as one request.
    public func insert(_ events: [LedgerEvent]) async throws(StoreError) -> [Int64?] {
        try await self.insert(requests: [events])
    }

    /// Stores the events in one transaction. - Returns: how many rows were newly inserted.
    public func append(_ events: [LedgerEvent]) async throws(StoreError) -> Int {
        try await self.insert(events).reduce(0) { $0 + ($1 == nil ? 0 : 1) }
    }
}
