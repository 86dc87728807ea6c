/// Events a store has committed, whose commit may not be on disk yet.
///
/// A store that makes its commits durable apart from them (SQLite, whose log is flushed on a
/// thread of its own) lets the batch writer commit the next batch while this one is flushed; the
/// acknowledgements wait for `waitUntilDurable()`.
public struct StoreCommit: Sendable {
    /// For each event, its commit sequence number, or nil when its id was already stored.
    public let sequences: [Int64?]
    private let flush: (@Sendable () async throws(StoreError) -> Void)?

    /// - Parameter flush: makes the commit durable; nil when it already is.
    public init(sequences: [Int64?], flush: (@Sendable () async throws(StoreError) -> Void)? = nil) {
        self.sequences = sequences
        self.flush = flush
    }

    /// Whether the commit was durable when it returned, so there is nothing to wait for.
    public var isDurable: Bool { self.flush == nil }

    /// Returns once the commit survives power loss.
    public func waitUntilDurable() async throws(StoreError) {
        try await self.flush?()
    }
}
