import Foundation
import LedgerProtocol
import NIOCore

/// Recomputes a ledger's trees from its events and checks them against its signed heads
/// (docs/VERIFY.md, "Verifying"): every event against its leaf record, every record into its log's
/// tree, the tree against every signed head it passes, and against heads saved elsewhere.
///
/// All logs are walked together in commit order, so that an event of one log is never taken for
/// one inserted into another; only the logs whose keys are given are judged.
public struct TreeVerifier: Sendable {
    public var keys: [LogPublicKey]
    /// Heads published elsewhere earlier, which the logs must still extend.
    public var savedHeads: [SignedTreeHead]
    public var pageSize: Int
    /// Whether only the given keys' logs are judged, the others still placing their events: by
    /// default a log of no given key fails verification, since anyone who can write the store can
    /// add a log, under a key of their own, to cover the events they insert.
    public var ignoresOtherLogs: Bool

    public init(keys: [LogPublicKey], savedHeads: [SignedTreeHead] = [], ignoresOtherLogs: Bool = false, pageSize: Int = 4_096) {
        self.keys = keys
        self.savedHeads = savedHeads
        self.ignoresOtherLogs = ignoresOtherLogs
        self.pageSize = pageSize
    }

    public func verify(_ source: some TreeSource) async throws -> VerificationReport {
        let summaries = try await source.logs()
        var report = VerificationReport()
        var logs: [LogWalk] = []
        for summary in summaries {
            let key = self.keys.first { $0.logID.bytes == summary.logID }
            let latest = try await source.latestHead(logID: summary.logID)
            let saved = self.savedHeads.filter { $0.logID == summary.logID }
            logs.append(LogWalk(summary: summary, key: key, latest: latest, saved: saved, pageSize: self.pageSize))
        }
        for key in self.keys where !summaries.contains(where: { $0.logID == key.logID.bytes }) {
            report.problems.append(
                summaries.isEmpty
                    ? "the store holds no log of the given key (log id \(key.logID.hex)), nor any other: its events were committed without a tree (ledgerd --signing-key off), or its tree tables were emptied"
                    : "the store holds no log of the given key (log id \(key.logID.hex)); its logs are \(summaries.map { HexText.text($0.logID) }.joined(separator: ", ")); a store rebuilt and signed with another key looks like this")
        }
        for saved in self.savedHeads where !summaries.contains(where: { $0.logID == saved.logID }) {
            report.problems.append("the saved head's log \(HexText.text(saved.logID)) is not in the store")
        }
        for index in logs.indices { try await logs[index].loadPage(source) }
        // What is judged is the ledger as of now, as one snapshot would show it, even on a ledger
        // that takes commits (and purges) while it is read: the events up to the newest one now,
        // all committed with their leaves, since commits are numbered in the order they land; and
        // the leaves that the logs held when their sizes were read, or that those events account
        // for. Anything committed later is left for the next verification.
        let through = try await Self.newestSequence(in: source)
        for index in logs.indices { logs[index].through = through }

        // Each page's leaf hashes are worked out as it is read, beside the walk over the page before.
        let canonical = source.metadataIsStoredText
        var events = Pager<LedgerEvent, HashedEvent>(
            pageSize: self.pageSize, sequence: { $0.sequence ?? 0 }, itemSequence: { $0.event.sequence ?? 0 },
            read: { after, limit in try await source.events(afterSequence: after, limit: limit) },
            prepare: { page in await HashedEvent.hash(page, canonical: canonical) })
        var tombstones = Pager<Tombstone, Tombstone>(
            pageSize: self.pageSize, sequence: \.sequence, itemSequence: \.sequence,
            read: { after, limit in try await source.tombstones(afterSequence: after, limit: limit) }, prepare: { $0 })
        defer {
            events.cancel()
            tombstones.cancel()
        }
        /// Per pass named by a tombstone: how many leaves it excuses, and the newest of them.
        var passes: [String: (removed: UInt64, newest: Int64)] = [:]
        // A purge while the ledger is read may bury an event after the tombstones' page was read:
        // before a removal is reported, they are read again from there, at most once a page of leaves.
        var walked: UInt64 = 0
        var tombstonesReadAgainAt: UInt64 = 0

        while true {
            let next = logs.indices.filter { logs[$0].peek != nil }.min { logs[$0].peek!.sequence < logs[$1].peek!.sequence }
            let record = next.map { logs[$0].peek! }
            let hashed = try await events.peek().flatMap { $0.event.sequence! <= through ?? Int64.min ? $0 : nil }
            let event = hashed?.event
            if record == nil, event == nil { break }
            // Every stored event is some log's leaf, those stored before the first log included (it
            // adopts them), so an event in no log's records is inserted, wherever it stands.
            if let event, record == nil || event.sequence! < record!.sequence {
                let moved = try await Self.recordNaming(event.id, in: logs, source: source)
                report.found(
                    BadLeaf(
                        kind: moved == nil ? .inserted : .reordered, logID: moved?.logID, leaf: moved?.leaf, sequence: event.sequence!, eventID: event.id,
                        detail: moved.map { "event \(event.id.lowercaseText), committed as leaf \($0.leaf) at sequence \($0.sequence), stands at sequence \(event.sequence!)" }
                            ?? "event \(event.id.lowercaseText) (\(event.eventType)) at sequence \(event.sequence!) is in no log's records"))
                report.eventsChecked += 1
                events.advance()
                continue
            }
            guard let record, let next else { break }
            let leaf = logs[next].nextLeaf
            if let event, event.sequence! == record.sequence {
                report.eventsChecked += 1
                events.advance()
                if event.id == record.id {
                    if hashed?.hash != record.hash {
                        report.found(
                            BadLeaf(
                                kind: .modified, logID: logs[next].summary.logID, leaf: leaf, sequence: record.sequence, eventID: record.id,
                                detail: "event \(record.id.lowercaseText) at leaf \(leaf) (sequence \(record.sequence)) no longer hashes to its leaf"))
                    }
                } else {
                    report.found(
                        try await Self.misplaced(
                            record, leaf: leaf, logID: logs[next].summary.logID, otherwise: .modified, source: source,
                            replacedBy: "; event \(event.id.lowercaseText) stands in its place",
                            detail: "leaf \(leaf) at sequence \(record.sequence) was event \(record.id.lowercaseText); the row there now holds event \(event.id.lowercaseText)"))
                }
            } else {
                var tombstone = try await tombstones.seek(record.sequence)
                if tombstone == nil, walked >= tombstonesReadAgainAt, record.sequence > Int64.min {
                    tombstonesReadAgainAt = walked + UInt64(self.pageSize)
                    tombstones.restart(after: record.sequence - 1)
                    tombstone = try await tombstones.seek(record.sequence)
                }
                if let tombstone {
                    passes[tombstone.retention, default: (0, record.sequence)].removed += 1
                    passes[tombstone.retention]!.newest = record.sequence
                    logs[next].retained += 1
                } else {
                    report.found(
                        try await Self.misplaced(
                            record, leaf: leaf, logID: logs[next].summary.logID, otherwise: .removed, source: source, replacedBy: "",
                            detail: "event \(record.id.lowercaseText), leaf \(leaf) at sequence \(record.sequence), is gone, and no retention pass removed it"))
                }
            }
            try await logs[next].take(record, source: source)
            walked += 1
        }

        for (pass, excused) in passes.sorted(by: { $0.key < $1.key }) {
            if let problem = try await Self.problem(ofPass: pass, excusing: excused, logs: logs, source: source) {
                report.problems.append(problem)
            } else {
                report.retentionPasses.append(RetentionPass(retention: pass, removed: excused.removed))
            }
        }
        report.logs = logs.map { $0.result() }
        for log in report.logs where !log.keyGiven && log.leaves > 0 && !self.ignoresOtherLogs {
            report.problems.append(
                "log \(HexText.text(log.logID)) holds \(log.leaves) leaves and its key was not given, so its events are not verified: give a --public-key for every log the store keeps (a log written into the store would cover the events it holds), or --ignore-other-logs to judge only the logs given")
        }
        return report
    }

    /// The newest stored event's sequence, found with the one read every source answers (events
    /// after a sequence) by halving the range; nil without events.
    static func newestSequence(in source: some TreeSource) async throws -> Int64? {
        guard var low = try await source.events(afterSequence: Int64.min, limit: 1).first?.sequence else { return nil }
        // An event stands at `low`, and none stood after `high` when it was looked for.
        var high = Int64.max
        while low < high {
            let middle = low &+ Int64(bitPattern: UInt64(bitPattern: high &- low) / 2)
            if let found = try await source.events(afterSequence: middle, limit: 1).first?.sequence, found > low {
                low = found
            } else {
                high = middle
            }
        }
        return low
    }

    /// Why the tombstones naming `pass` excuse nothing, or nil when they stand. The store is as
    /// writable as the rows a tombstone excuses, so a pass must be the ledger's own record of one:
    /// a stored `ledger_retention` event that is a leaf of a log, committed after every leaf it
    /// removed (a pass commits its record first, and removes only what was committed before it).
    static func problem(
        ofPass pass: String, excusing excused: (removed: UInt64, newest: Int64), logs: [LogWalk], source: some TreeSource
    ) async throws -> String? {
        let removed = "\(excused.removed) leaves have tombstones naming \(pass)"
        guard let id = UUID(uuidString: pass), let sequence = try await source.sequence(ofEvent: id), sequence > Int64.min,
            let record = try await source.events(afterSequence: sequence - 1, limit: 1).first, record.id == id,
            record.eventType == RetentionPolicy.recordEventType
        else {
            return "\(removed), which is no recorded ledger_retention event: they were removed by something else"
        }
        var leaf = false
        for log in logs where !leaf { leaf = try await source.leaf(ofSequence: sequence, logID: log.summary.logID) != nil }
        guard leaf else {
            return "\(removed), a ledger_retention event at sequence \(sequence) that is in no log's records: a record written into the store excuses nothing"
        }
        guard excused.newest < sequence else {
            return "\(removed), whose record was committed at sequence \(sequence), before the leaf at sequence \(excused.newest): a pass removes only what was committed before its record"
        }
        return nil
    }

    /// A leaf whose event is not at its place: `reordered` when the event stands at another sequence,
    /// else `otherwise` with `detail`.
    static func misplaced(
        _ record: LeafRecord, leaf: UInt64, logID: [UInt8], otherwise: BadLeaf.Kind, source: some TreeSource, replacedBy: String, detail: String
    ) async throws -> BadLeaf {
        guard let elsewhere = try await source.sequence(ofEvent: record.id) else {
            return BadLeaf(kind: otherwise, logID: logID, leaf: leaf, sequence: record.sequence, eventID: record.id, detail: detail)
        }
        return BadLeaf(
            kind: .reordered, logID: logID, leaf: leaf, sequence: record.sequence, eventID: record.id,
            detail: "event \(record.id.lowercaseText), leaf \(leaf) at sequence \(record.sequence), now stands at sequence \(elsewhere)\(replacedBy)")
    }

    /// The log, leaf and sequence of the record that names `id`, found by reading every log's records
    /// again: done once, for the first bad leaf, to tell an event moved from one inserted.
    static func recordNaming(_ id: UUID, in logs: [LogWalk], source: some TreeSource) async throws -> (logID: [UInt8], leaf: UInt64, sequence: Int64)? {
        for log in logs {
            var leaf: UInt64 = 0
            while true {
                let page = try await source.leafRecords(logID: log.summary.logID, from: leaf, limit: 65_536)
                if page.isEmpty { break }
                if let index = page.firstIndex(where: { $0.id == id }) { return (log.summary.logID, leaf + UInt64(index), page[index].sequence) }
                leaf += UInt64(page.count)
            }
        }
        return nil
    }
}

/// A list read from a source a page at a time, by the sequence of its last item, in three stages
/// that overlap: while one page is walked, the next is prepared (its leaf hashes worked out) and
/// the one after it is read, so the store, the hashing and the walk share the cores. At most three
/// pages are held.
struct Pager<Raw: Sendable, Item: Sendable> {
    let pageSize: Int
    let read: @Sendable (Int64, Int) async throws -> [Raw]
    let prepare: @Sendable ([Raw]) async -> [Item]
    let sequence: @Sendable (Raw) -> Int64
    let itemSequence: @Sendable (Item) -> Int64
    var page: [Item] = []
    var index = 0
    var exhausted = false
    /// The next page, being prepared, and the read of the one after it.
    private var prepared: Task<[Item], any Error>?
    private var following: Task<[Raw], any Error>?

    init(
        pageSize: Int, sequence: @escaping @Sendable (Raw) -> Int64, itemSequence: @escaping @Sendable (Item) -> Int64,
        read: @escaping @Sendable (Int64, Int) async throws -> [Raw], prepare: @escaping @Sendable ([Raw]) async -> [Item]
    ) {
        self.pageSize = pageSize
        self.read = read
        self.prepare = prepare
        self.sequence = sequence
        self.itemSequence = itemSequence
        // From the least sequence a store can hold: a row written below the first commit's number is read too.
        self.stage(Task { try await read(Int64.min, pageSize) })
    }

    /// Prepares the page `raw` reads and, as soon as it is read, reads the one after it.
    private mutating func stage(_ raw: Task<[Raw], any Error>) {
        let (read, prepare, sequence, size) = (self.read, self.prepare, self.sequence, self.pageSize)
        self.prepared = Task { await prepare(try await raw.value) }
        self.following = Task {
            // Only an empty page ends the list: a source may answer with fewer than asked (a
            // daemon cuts its answers to what one frame may hold). A read after the least
            // sequence includes it, so each page keeps only what comes after the last.
            guard let last = try await raw.value.last else { return [] }
            return try await read(sequence(last), size).filter { sequence($0) > sequence(last) }
        }
    }

    mutating func peek() async throws -> Item? {
        if self.index >= self.page.count {
            guard !self.exhausted, let prepared = self.prepared, let following = self.following else { return nil }
            self.page = try await prepared.value
            self.index = 0
            if self.page.isEmpty {
                self.exhausted = true
                self.prepared = nil
                self.following = nil
                return nil
            }
            self.stage(following)
        }
        return self.page[self.index]
    }

    /// Drops what was read ahead and reads again from after `sequence`.
    mutating func restart(after sequence: Int64) {
        self.cancel()
        let (read, size) = (self.read, self.pageSize)
        self.page = []
        self.index = 0
        self.exhausted = false
        self.stage(Task { try await read(sequence, size) })
    }

    mutating func advance() { self.index += 1 }

    /// The item at `target`, passing those before it; nil when there is none.
    mutating func seek(_ target: Int64) async throws -> Item? {
        while let item = try await self.peek() {
            let at = self.itemSequence(item)
            if at > target { return nil }
            self.advance()
            if at == target { return item }
        }
        return nil
    }

    /// Stops reads and preparation still under way, when the walk ends early.
    func cancel() {
        self.prepared?.cancel()
        self.following?.cancel()
    }
}

/// One log as the verifier walks it: its records, the tree they build, and the heads it passes.
struct LogWalk: Sendable {
    let summary: LogSummary
    let key: LogPublicKey?
    let latest: SignedTreeHead?
    let saved: [SignedTreeHead]
    let pageSize: Int
    private var page: [LeafRecord] = []
    private var index = 0
    private var exhausted = false
    private(set) var nextLeaf: UInt64 = 0
    private var frontier = TreeFrontier()
    private var heads: [SignedTreeHead] = []
    private var headIndex = 0
    private var headsExhausted = false
    private var consistency: [RangeRoots]
    var retained: UInt64 = 0
    private(set) var headsChecked: UInt64 = 0
    private(set) var problems: [String] = []
    private var savedMatched: Set<UInt64> = []

    init(summary: LogSummary, key: LogPublicKey?, latest: SignedTreeHead?, saved: [SignedTreeHead], pageSize: Int) {
        self.summary = summary
        self.key = key
        self.latest = latest
        self.saved = saved
        self.pageSize = pageSize
        self.consistency = saved.map { head in
            guard let latest, head.treeSize <= latest.treeSize else { return RangeRoots([]) }
            return RangeRoots(MerkleProofs.consistencyRanges(first: head.treeSize, second: latest.treeSize))
        }
    }

    /// The newest event's sequence when the walk began: leaves beyond the log's size then, committed
    /// after that event, are left for the next verification.
    var through: Int64?

    var peek: LeafRecord? {
        guard self.index < self.page.count else { return nil }
        let record = self.page[self.index]
        return self.nextLeaf < self.summary.size || record.sequence <= self.through ?? Int64.min ? record : nil
    }

    mutating func loadPage(_ source: some TreeSource) async throws {
        guard self.index >= self.page.count, !self.exhausted else { return }
        self.page = try await source.leafRecords(logID: self.summary.logID, from: self.nextLeaf, limit: self.pageSize)
        self.index = 0
        if self.page.isEmpty { self.exhausted = true }
        try await self.checkHeads(source)
    }

    mutating func take(_ record: LeafRecord, source: some TreeSource) async throws {
        self.frontier.append(record.hash)
        for index in self.consistency.indices where self.consistency[index].nextLeaf < self.consistency[index].end {
            self.consistency[index].take(record.hash)
        }
        self.nextLeaf += 1
        self.index += 1
        try await self.checkHeads(source)
        try await self.loadPage(source)
    }

    /// Compares the tree with each stored head of its present size, and each saved one.
    private mutating func checkHeads(_ source: some TreeSource) async throws {
        let size = self.frontier.size
        for head in self.saved where head.treeSize == size && !self.savedMatched.contains(size) {
            self.savedMatched.insert(size)
            if head.rootHash != self.frontier.root.bytes {
                self.problems.append(
                    "the saved head of \(size) leaves (root \(HexText.text(head.rootHash))) does not match the tree's first \(size) leaves (root \(self.frontier.root.hex)): history up to it was rewritten and re-signed")
            }
        }
        while true {
            if self.headIndex >= self.heads.count {
                guard !self.headsExhausted else { return }
                self.heads = try await source.heads(logID: self.summary.logID, fromSize: size, limit: 1_024)
                self.headIndex = 0
                if self.heads.count < 1_024 { self.headsExhausted = true }
                if self.heads.isEmpty { return }
            }
            let head = self.heads[self.headIndex]
            if head.treeSize > size { return }
            self.headIndex += 1
            guard head.treeSize == size else { continue }
            self.headsChecked += 1
            if let key = self.key, !key.isValidSignature(head) {
                self.problems.append("the stored head of \(size) leaves is not signed by the given key")
            } else if head.rootHash != self.frontier.root.bytes {
                self.problems.append(
                    "the stored head of \(size) leaves signed root \(HexText.text(head.rootHash)), but the leaf records up to it hash to \(self.frontier.root.hex): records before leaf \(size) were changed")
            }
        }
    }

    func result() -> LogResult {
        var problems = self.problems
        var unsigned: UInt64 = 0
        if let latest {
            if let key, !key.isValidSignature(latest) {
                problems.append("its newest head (\(latest.treeSize) leaves) is not signed by the given key")
            }
            if latest.treeSize > self.frontier.size {
                problems.append(
                    "its newest head signed \(latest.treeSize) leaves but the store holds records of \(self.frontier.size): the newest leaves' records were removed")
            } else {
                unsigned = self.frontier.size - latest.treeSize
            }
        } else if self.frontier.size > 0 {
            problems.append("it has \(self.frontier.size) leaves and no signed head")
        }
        for (index, head) in self.saved.enumerated() {
            if let key, !key.isValidSignature(head) {
                problems.append("the saved head of \(head.treeSize) leaves is not signed by the given key")
            }
            if head.treeSize > self.frontier.size {
                problems.append(
                    "the saved head signed \(head.treeSize) leaves but the log now has \(self.frontier.size): history after leaf \(self.frontier.size) was cut off and re-signed")
            } else if let latest, head.treeSize <= latest.treeSize, let roots = self.consistency[index].roots {
                let consistent = MerkleProofs.verifyConsistency(
                    first: head.treeSize, firstRoot: TreeHash(bytes: head.rootHash) ?? .empty, second: latest.treeSize,
                    secondRoot: TreeHash(bytes: latest.rootHash) ?? .empty, proof: roots)
                if !consistent {
                    problems.append("the consistency proof from the saved head of \(head.treeSize) leaves to the newest head of \(latest.treeSize) fails")
                }
            }
        }
        return LogResult(
            logID: self.summary.logID, keyGiven: self.key != nil, leaves: self.frontier.size, root: self.frontier.root, latestHead: self.latest,
            unsignedLeaves: unsigned, retained: self.retained, headsChecked: self.headsChecked, problems: problems)
    }
}

/// A stored event and the leaf hash it has at its own sequence.
struct HashedEvent: Sendable {
    let event: LedgerEvent
    let hash: TreeHash

    /// A page's leaf hashes, in two halves side by side: rendering metadata in canonical form (for a
    /// store that keeps JSON values, not text) is most of a verifier's work.
    static func hash(_ page: [LedgerEvent], canonical: Bool) async -> [HashedEvent] {
        func hash(_ events: ArraySlice<LedgerEvent>) -> [HashedEvent] {
            var scratch = ByteBuffer()
            return events.map { HashedEvent(event: $0, hash: TreeLeaf.hash($0, sequence: $0.sequence ?? 0, canonical: canonical, scratch: &scratch)) }
        }
        guard page.count >= 512 else { return hash(page[...]) }
        let half = page.count / 2
        async let first = hash(page[..<half])
        let second = hash(page[half...])
        return await first + second
    }
}
