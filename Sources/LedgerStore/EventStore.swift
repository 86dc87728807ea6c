import LedgerProtocol

/// Where committed events live. The daemon talks to every backend through this.
///
/// `append` is the group-commit path: one call is one transaction, and when it
/// returns every event in it is durable (or was already stored under its id).
/// Implementations keep blocking work off the caller's executor.
public protocol EventStore: Sendable {
    /// A one-line description for logs and stats, never containing a password.
    var description: String { get }

    /// Stores the events in one transaction; ids already present are skipped, not errors.
    /// - Returns: how many rows were newly inserted.
    func append(_ events: [LedgerEvent]) async throws(StoreError) -> Int

    /// One page of events matching the request's filter, in its order, after its cursor.
    func query(_ request: QueryRequest) async throws(StoreError) -> EventsResult

    /// How many events match the filter.
    func count(_ filter: EventFilter) async throws(StoreError) -> UInt64

    /// Finishes pending work and releases the backend; later calls fail with `StoreError.Code.closed`.
    func close() async
}
