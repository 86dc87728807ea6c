import Foundation
import LedgerProtocol

/// The reads ledger.py, the Python ledger this one replaces, offered, each one filter, order and limit.
extension LedgerClient {
    /// Runs any query; page on with `result.next`.
    public func query(_ request: QueryRequest) async throws -> EventsResult {
        guard case .events(let result) = try await self.connection.request(.query(request)) else {
            throw LedgerClientError(code: .protocolViolation, message: "ledgerd answered a query with something else")
        }
        return result
    }

    public func count(_ filter: EventFilter = EventFilter()) async throws -> UInt64 {
        guard case .count(let result) = try await self.connection.request(.count(CountRequest(filter: filter))) else {
            throw LedgerClientError(code: .protocolViolation, message: "ledgerd answered a count with something else")
        }
        return result.count
    }

    /// The most recent events, newest first.
    public func recent(limit: UInt32 = 50) async throws -> [LedgerEvent] {
        try await self.query(QueryRequest(limit: limit)).events
    }

    /// The most recent events of one type, newest first.
    public func events(ofType eventType: String, limit: UInt32 = 50) async throws -> [LedgerEvent] {
        try await self.query(QueryRequest(filter: EventFilter(eventType: eventType), limit: limit)).events
    }

    /// One entity's history, oldest first, as a timeline reads.
    public func timeline(entityType: String, entityID: String, limit: UInt32 = 1_000) async throws -> [LedgerEvent] {
        try await self.query(
            QueryRequest(filter: EventFilter(entityType: entityType, entityID: entityID), order: .oldestFirst, limit: limit)
        ).events
    }

    /// Every event that names the job (its own and its clips'), oldest first.
    public func events(forJob jobID: UUID, limit: UInt32 = 1_000) async throws -> [LedgerEvent] {
        try await self.query(QueryRequest(filter: EventFilter(jobID: jobID), order: .oldestFirst, limit: limit)).events
    }

    /// How many ERROR events there have been since the given time (all time when nil).
    public func errorCount(since: LedgerTimestamp? = nil) async throws -> UInt64 {
        try await self.count(EventFilter(severity: .error, since: since))
    }

    public func totalCount() async throws -> UInt64 {
        try await self.count()
    }

    public func ping() async throws -> Pong {
        guard case .pong(let pong) = try await self.connection.request(.ping) else {
            throw LedgerClientError(code: .protocolViolation, message: "ledgerd answered ping with something else")
        }
        return pong
    }

    public func stats() async throws -> StatsResult {
        guard case .stats(let stats) = try await self.connection.request(.stats) else {
            throw LedgerClientError(code: .protocolViolation, message: "ledgerd answered stats with something else")
        }
        return stats
    }

    /// The daemon's retention policy, what each rule would remove now, and what passes removed.
    public func retention() async throws -> RetentionStatus {
        guard case .retentionStatus(let status) = try await self.connection.request(.retention) else {
            throw LedgerClientError(code: .protocolViolation, message: "ledgerd answered retention with something else")
        }
        return status
    }
}

extension LedgerClient {
    /// The daemon's log key and newest signed tree head, signed now if its tree grew since the last.
    public func treeHead() async throws -> TreeHeadResult {
        guard case .treeHead(let result) = try await self.connection.request(.treeHead) else {
            throw LedgerClientError(code: .protocolViolation, message: "ledgerd answered tree_head with something else")
        }
        return result
    }

    /// The inclusion proof of one event, under the newest head or the stored head of `treeSize` leaves.
    public func prove(_ eventID: UUID, treeSize: UInt64 = 0) async throws -> InclusionProof {
        guard case .inclusionProof(let proof) = try await self.connection.request(.prove(ProveRequest(eventID: eventID, treeSize: treeSize))) else {
            throw LedgerClientError(code: .protocolViolation, message: "ledgerd answered prove with something else")
        }
        return proof
    }

    /// One page of the daemon's logs (`tree_read`), for verifying through the daemon.
    public func treeRead(_ request: TreeReadRequest) async throws -> TreeReadResult {
        guard case .treePage(let page) = try await self.connection.request(.treeRead(request)) else {
            throw LedgerClientError(code: .protocolViolation, message: "ledgerd answered tree_read with something else")
        }
        return page
    }
}
