import Foundation
import LedgerFiles
import LedgerProtocol
import LedgerStore
import LedgerTree
import Logging
import NIOCore

/// Decides what each request costs and what it is owed: queue events, run a query, answer at once.
///
/// It knows nothing of sockets; the connection handler feeds it frames and writes what it returns.
struct RequestDispatcher: Sendable {
    let configuration: LedgerServerConfiguration
    let queue: IngestQueue
    let store: any EventStore
    let stats: ServerStats
    let hub: TailHub
    let retention: RetentionLog
    let facts: [StatsResult.Fact]
    let metrics: LedgerMetrics?
    /// Signs the log's heads; nil for a store that keeps no tree.
    let signer: TreeHeadSigner?
    let logger: Logger

    /// Every counter, as `ledger-rpc stats` and `/metrics` show them.
    func statsSnapshot() -> StatsResult {
        self.stats.snapshot(
            queueDepth: self.queue.depth, queueBytes: self.queue.depthBytes, tailSubscribers: self.hub.subscriberCount,
            tailMissed: self.hub.missed.load(ordering: .relaxed), storeCounters: self.store.counters,
            facts: self.facts.map { $0.name == "retention" ? .init("retention", self.retention.policy.description) : $0 })
    }

    /// What the connection should do for one request.
    enum Outcome {
        case respond(LedgerResponse)
        case respondAfterCommit(committed: UInt32, CommitTicket)
        case subscribe(SubscribeRequest)
        case noResponse
    }

    /// What a connection has sent that its next read must wait for (read your own writes).
    struct ConnectionWrites: Sendable {
        /// The ack of its latest acknowledged write. Commits succeed in queue order, so once this one
        /// has, every event the connection sent before it is committed or was refused; a refusal
        /// can come before an earlier event's commit, and shows nothing.
        var acknowledged: CommitTicket?
        /// Events sent without an ack since then, whose commit only a sync through the queue shows.
        var unacknowledged = false

        /// Whether the next read waits: a client that read its acks before querying costs no sync.
        var unsettled: Bool {
            guard !self.unacknowledged, let ticket = self.acknowledged else { return self.unacknowledged }
            if case .success = ticket.settled { return false }
            return true
        }
    }

    func handle(_ frame: LedgerFrame, access: PeerAccess) async throws -> Outcome {
        var writes = ConnectionWrites()
        return try await self.handle(frame, access: access, writes: &writes)
    }

    func handle(_ frame: LedgerFrame, access: PeerAccess, writes: inout ConnectionWrites) async throws -> Outcome {
        let outcome = try await self.dispatch(frame, access: access, writes: &writes)
        switch outcome {
        case .noResponse:
            writes.unacknowledged = true
        case .respondAfterCommit(_, let ticket):
            writes.acknowledged = ticket
            writes.unacknowledged = false
        case .respond, .subscribe: break
        }
        return outcome
    }

    private func dispatch(_ frame: LedgerFrame, access: PeerAccess, writes: inout ConnectionWrites) async throws -> Outcome {
        let request: LedgerRequest
        do {
            request = try LedgerRequest.decode(frame)
        } catch {
            if error.closesConnection { throw error }
            self.stats.add(error.code == .invalidEvent ? \.eventsRejected : \.protocolErrors)
            return .respond(.error(ErrorResponse(error)))
        }
        if request.isWrite, !access.mayWrite {
            self.stats.add(\.requestsDenied)
            return .respond(
                .error(ErrorResponse(code: .permissionDenied, message: "\(access.peer) may read but not log; ledgerd allows remote writes with --tls-allow-writes")))
        }
        // Consumed, so the events it carries have one owner and are filled in without being copied.
        switch consume request {
        case .ping:
            return .respond(.pong(Pong(server: self.configuration.serverName)))
        case .stats:
            return .respond(.stats(self.statsSnapshot()))
        case .sync:
            return try await self.ingest([], acknowledged: true, peer: nil)
        case .logEvent(let message):
            return try await self.ingest([message.event], acknowledged: message.flags.contains(.acknowledge), peer: access.credentials)
        case .logJobEvent(let message):
            return try await self.ingest(
                { () throws(LedgerProtocolError) in [try message.event()] }, acknowledged: message.flags.contains(.acknowledge),
                peer: access.credentials)
        case .logClipEvent(let message):
            return try await self.ingest(
                { () throws(LedgerProtocolError) in [try message.event()] }, acknowledged: message.flags.contains(.acknowledge),
                peer: access.credentials)
        case .reportGap(let report):
            let outcome = try await self.ingest(
                { () throws(LedgerProtocolError) in [try report.event()] }, acknowledged: true, peer: access.credentials, gapRecord: true)
            if case .respondAfterCommit = outcome {
                self.stats.add(\.gapReports)
                self.stats.addSaturating(\.eventsDroppedByClients, Int64(clamping: report.events))
                self.metrics?.clientDropped(UInt64(report.events), reason: report.reason.description)
            }
            return outcome
        case .logBatch(let message):
            guard message.events.count <= self.configuration.maximumBatchEvents else {
                self.stats.add(\.eventsRejected, Int64(message.events.count))
                return .respond(
                    .error(
                        ErrorResponse(
                            code: .invalidEvent,
                            message: "log_batch holds \(message.events.count) events, the limit is \(self.configuration.maximumBatchEvents)"
                        )))
            }
            return try await self.ingest(message.events, acknowledged: message.flags.contains(.acknowledge), peer: access.credentials)
        case .query(let query):
            return try await self.read(after: &writes) {
                try query.validate(maximumLimit: self.configuration.maximumQueryLimit)
                return self.page(try await self.store.query(query))
            }
        case .subscribe(let subscribe):
            do {
                try subscribe.filter.validate()
            } catch {
                self.stats.add(\.protocolErrors)
                return .respond(.error(ErrorResponse(error)))
            }
            return .subscribe(subscribe)
        case .count(let count):
            return try await self.read(after: &writes) {
                try count.filter.validate()
                return .count(CountResult(count: try await self.store.count(count.filter)))
            }
        case .reportJobs(let report):
            return try await self.read(after: &writes) {
                try report.validate()
                return .jobsReport(try await self.store.jobsReport(report))
            }
        case .reportFailures(let report):
            return try await self.read(after: &writes) {
                try report.validate()
                return .failuresReport(try await self.store.failuresReport(report))
            }
        case .reportErrors(let report):
            return try await self.read(after: &writes) {
                try report.validate()
                return .errorsReport(try await self.store.errorsReport(report))
            }
        case .timeline(let timeline):
            return try await self.read(after: &writes) {
                try timeline.validate(maximumLimit: self.configuration.maximumQueryLimit)
                return self.page(try await self.store.timeline(timeline))
            }
        case .retention:
            return try await self.read(after: &writes) {
                .retentionStatus(try await self.retentionStatus())
            }
        case .treeHead:
            return try await self.read(after: &writes) {
                guard let signer = self.signer else { return .treeHead(TreeHeadResult(publicKey: [], head: nil)) }
                return .treeHead(TreeHeadResult(publicKey: await signer.publicKey.raw, head: try await signer.signIfGrown()))
            }
        case .prove(let request):
            return try await self.read(after: &writes) {
                try await self.withinQueryBudget { try await self.prove(request) }
            }
        case .treeRead(let request):
            return try await self.read(after: &writes) {
                .treePage(try await self.treePage(request))
            }
        }
    }

    /// The inclusion proof of one event under the newest head, or the stored head of the size asked for.
    private func prove(_ request: ProveRequest) async throws -> LedgerResponse {
        guard let signer = self.signer, let source = try await self.store.treeSource() else {
            throw LedgerProtocolError(code: .invalidQuery, message: "this daemon's store (\(self.store.description)) keeps no tree to prove from")
        }
        let head: SignedTreeHead
        if request.treeSize == 0 {
            guard let newest = try await signer.signIfGrown() else {
                throw LedgerProtocolError(code: .invalidQuery, message: "the log has no signed head yet")
            }
            head = newest
        } else {
            let logID = await signer.publicKey.logID.bytes
            guard let stored = try await source.heads(logID: logID, fromSize: request.treeSize, limit: 1).first, stored.treeSize == request.treeSize else {
                throw LedgerProtocolError(
                    code: .invalidQuery,
                    message: "the log has no signed head of \(request.treeSize) leaves (of heads older than a week it keeps the last of each hour); ledger-rpc head shows the newest, and verify --head checks a saved head against it")
            }
            head = stored
        }
        do {
            let proof = try await TreeProver.inclusion(of: request.eventID, under: head, source: source) {
                self.logger.warning(
                    "the frontiers stored with the log's commits (ledger_tree_leaves.frontier) do not agree with its leaf records; the proof was made from the leaves alone and is sound, but a row was changed outside ledgerd: run ledger-rpc verify --store",
                    metadata: ["event": "\(request.eventID.lowercaseText)", "log": "\(HexText.text(head.logID))"])
            }
            return .inclusionProof(proof)
        } catch let error as TreeError {
            throw LedgerProtocolError(code: .invalidQuery, message: error.message)
        }
    }

    /// One page of the store's logs, each list cut to what one answer may hold: a verifier asks
    /// again from where the page ended, until a page comes back empty.
    private func treePage(_ request: TreeReadRequest) async throws -> TreeReadResult {
        guard let source = try await self.store.treeSource() else {
            throw LedgerProtocolError(code: .invalidQuery, message: "this daemon's store (\(self.store.description)) keeps no tree")
        }
        do {
            switch request {
            case .logs:
                return .logs(
                    try await source.logs().map { .init(logID: $0.logID, publicKey: $0.publicKey, size: $0.size, root: $0.root.bytes) })
            case .heads(let logID, let size, let limit):
                return .heads(try await source.heads(logID: logID, fromSize: size, limit: Int(min(limit, 1_024))))
            case .latestHead(let logID):
                return .heads(try await source.latestHead(logID: logID).map { [$0] } ?? [])
            case .leafRecords(let logID, let leaf, let limit):
                // 56 bytes a record: at most 3.5 MiB.
                let records = try await source.leafRecords(logID: logID, from: leaf, limit: Int(min(limit, 65_536))).prefix(65_536)
                return .leafRecords(LeafRecord.encode(Array(records)))
            case .leafOfSequence(let logID, let sequence):
                return .number(try await source.leaf(ofSequence: sequence, logID: logID).map { Int64($0) })
            case .sequenceOfEvent(let id):
                return .number(try await source.sequence(ofEvent: id))
            case .events(let after, let limit):
                let events = try await source.events(afterSequence: after, limit: Int(min(limit, 4_096)))
                // A store that keeps the JSON value only (jsonb) has its rendering relayed in canonical
                // form, which is what the leaf hashes: a verifier then hashes every event as it comes.
                let relayed = source.metadataIsStoredText ? events : events.map(\.withCanonicalMetadata)
                let page = EventsResult(events: relayed, next: nil).truncated(toEncodedBytes: self.configuration.maximumResponseBytes)
                return .events(page.events, storedText: source.metadataIsStoredText)
            case .tombstones(let after, let limit):
                return .tombstones(try await source.tombstones(afterSequence: after, limit: Int(min(limit, 32_768))))
            }
        } catch let error as TreeError {
            throw LedgerProtocolError(code: .invalidQuery, message: error.message)
        }
    }

    /// A read of many pages (a proof walks the log's leaf records) is held to the query budget as a
    /// whole, not only page by page, so one request cannot keep a reader busy for longer than a query may.
    private func withinQueryBudget(_ body: @escaping @Sendable () async throws -> LedgerResponse) async throws -> LedgerResponse {
        guard let budget = self.configuration.readLimits.queryTimeout else { return try await body() }
        let answer = try await withThrowingTaskGroup(of: LedgerResponse?.self) { group in
            group.addTask { try await body() }
            group.addTask {
                try await Task.sleep(for: budget)
                return nil
            }
            defer { group.cancelAll() }
            return try await group.next() ?? nil
        }
        guard let answer else {
            throw StoreError(code: .timedOut, message: "the proof took longer than \(budget) (--query-timeout) and was stopped")
        }
        return answer
    }

    /// The log's status, with what each rule would remove if a pass ran now.
    private func retentionStatus() async throws -> RetentionStatus {
        let policy = self.retention.policy
        let now = LedgerTimestamp.now()
        let through = try await self.store.latestSequence()
        var measured: [RetentionPolicy.Rule: (before: LedgerTimestamp, pending: UInt64)] = [:]
        // A count past the query budget leaves that rule, and the rest, not counted, rather than
        // failing the answer: an operator looks at retention most while a purge makes counting slow.
        var counting = true
        for rule in policy.expiringRules {
            guard let selection = ExpirySelection(rule: rule, of: policy, now: now, throughSequence: through) else { continue }
            let pending = counting ? try await self.pendingCount(selection) : nil
            counting = pending != nil
            measured[rule] = (selection.before, pending ?? RetentionStatus.notCounted)
        }
        return self.retention.status(measured: measured)
    }

    /// What a rule would remove now, counted up to the cap; nil when the count ran past the query budget.
    private func pendingCount(_ selection: ExpirySelection) async throws(StoreError) -> UInt64? {
        do throws(StoreError) {
            return try await self.store.expirySummary(selection, countingUpTo: RetentionStatus.pendingCap).events
        } catch where error.code == .timedOut {
            self.stats.add(\.queriesTimedOut)
            return nil
        }
    }

    private func ingest(
        _ makeEvents: () throws(LedgerProtocolError) -> [LedgerEvent],
        acknowledged: Bool,
        peer: PeerCredentials?,
        gapRecord: Bool = false
    ) async throws -> Outcome {
        do {
            return try await self.ingest(try makeEvents(), acknowledged: acknowledged, peer: peer, gapRecord: gapRecord)
        } catch let error as LedgerProtocolError {
            self.stats.add(\.eventsRejected)
            return .respond(.error(ErrorResponse(error)))
        }
    }

    /// Validates every event, fills in what the daemon owns (arrival time, missing ids), and queues them.
    ///
    /// A request is all or nothing: one invalid event rejects the request and stores none of it.
    private func ingest(
        _ events: consuming [LedgerEvent], acknowledged: Bool, peer: PeerCredentials?, gapRecord: Bool = false
    ) async throws -> Outcome {
        let now = LedgerTimestamp.now()
        for index in events.indices {
            do throws(LedgerProtocolError) {
                try events[index].admit(arrivedAt: now, from: peer, gapRecord: gapRecord)
            } catch {
                self.stats.add(\.eventsRejected, Int64(events.count))
                let prefix = events.count > 1 ? "event \(index): " : ""
                return .respond(.error(ErrorResponse(code: error.code, message: prefix + error.message)))
            }
        }
        let ticket = acknowledged ? CommitTicket() : nil
        let count = events.count
        do {
            try await self.queue.submit(events, completion: ticket)
        } catch let error as LedgerProtocolError {
            return .respond(.error(ErrorResponse(error)))
        }
        self.stats.add(\.eventsReceived, Int64(count))
        guard let ticket else { return .noResponse }
        return .respondAfterCommit(committed: UInt32(count), ticket)
    }

    /// A read that sees this connection's own writes: settled first, then run within the read's accounting.
    private func read(after writes: inout ConnectionWrites, _ body: () async throws -> LedgerResponse) async throws -> Outcome {
        if let refusal = try await self.settle(&writes) { return .respond(refusal) }
        return await self.read(body)
    }

    /// A page of events as every store answers it: one rendering of metadata, cut to the response's bytes.
    private func page(_ result: EventsResult) -> LedgerResponse {
        var result = result
        result.events = result.events.map(\.withCanonicalMetadata)
        return .events(result.truncated(toEncodedBytes: self.configuration.maximumResponseBytes))
    }

    /// Waits until every event this connection sent before a read is committed (or refused), so the
    /// read sees them: a sync of its own through the queue, which settles after everything ahead of it.
    ///
    /// - Returns: an error to answer when that takes longer than a query may (the store is down).
    private func settle(_ writes: inout ConnectionWrites) async throws -> LedgerResponse? {
        guard writes.unsettled else { return nil }
        let ticket = CommitTicket()
        do {
            try await self.queue.submit([], completion: ticket)
        } catch let error as LedgerProtocolError {
            return .error(ErrorResponse(error))
        }
        writes = ConnectionWrites()
        let deadline = self.configuration.readLimits.queryTimeout ?? .seconds(5)
        let settled = try await withThrowingTaskGroup(of: Bool.self) { group in
            group.addTask {
                // A refused or failed event is settled too: the read then simply does not find it.
                do { try await ticket.wait() } catch is CancellationError { throw CancellationError() } catch {}
                return true
            }
            group.addTask {
                try await Task.sleep(for: deadline)
                return false
            }
            defer { group.cancelAll() }
            return try await group.next() ?? false
        }
        guard settled else {
            return .error(
                ErrorResponse(
                    code: .storeUnavailable,
                    message: "the events this connection sent before the query are not committed after \(deadline); the store may be down"))
        }
        return nil
    }

    private func read(_ body: () async throws -> LedgerResponse) async -> Outcome {
        self.stats.add(\.queries)
        do {
            return .respond(try await body())
        } catch let error as LedgerProtocolError {
            self.stats.add(\.protocolErrors)
            return .respond(.error(ErrorResponse(error)))
        } catch let error as StoreError where error.code == .timedOut {
            self.stats.add(\.queriesTimedOut)
            return .respond(.error(ErrorResponse(code: .queryTimeout, message: error.message)))
        } catch let error as StoreError {
            // A cancelled query's connection is gone: there is nobody to answer and nothing went wrong.
            if error.code != .cancelled { self.logger.warning("query failed", metadata: ["error": "\(error)"]) }
            // A query that finds the store gone says so in stats at once, as a failed write would.
            if error.code == .unavailable, self.stats.storeAvailable.exchange(0, ordering: .relaxed) == 1 {
                self.stats.add(\.storeOutages)
            }
            return .respond(.error(ErrorResponse(code: .storeUnavailable, message: "the store could not answer: \(error.code)")))
        } catch {
            return .respond(.error(ErrorResponse(code: .internalError, message: "query failed")))
        }
    }
}
