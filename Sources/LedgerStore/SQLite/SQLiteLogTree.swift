import LedgerProtocol
import LedgerTree
import NIOCore

/// The writer's side of its log's tree (migration 9): the frontier as of the last commit, and the
/// statements that keep the tree's rows in step with each commit, inside its transaction.
final class SQLiteLogTree {
    let logID: [UInt8]
    private(set) var frontier: TreeFrontier
    /// The last commit's last sequence, when it stored any event: what a head's durability waits for.
    private(set) var lastSequence: Int64 = 0
    private let addLeaves: SQLiteStatement
    private let hasher: LeafHasher
    private var scratch = ByteBuffer()
    /// The commit's leaves, once its rows are in.
    private var pending: LeafHasher.Hashed?

    /// Opens the log of `key`, continuing its tree from its newest leaves, or creating it the first
    /// time the key is used with this file.
    init(key: LogPublicKey, connection: SQLiteConnection, hasher: LeafHasher) throws(StoreError) {
        let logID = key.logID.bytes
        self.logID = logID
        self.hasher = hasher
        let create = try connection.prepare("INSERT OR IGNORE INTO ledger_tree (log_id, public_key) VALUES (?, ?)", as: .unavailable)
        create.bind(1, blob: logID)
        create.bind(2, blob: key.raw)
        _ = try create.step(as: .unavailable)
        create.reset()
        let newest = try connection.prepare(
            "SELECT frontier FROM ledger_tree_leaves WHERE log_id = ? ORDER BY first_leaf DESC LIMIT 1", as: .unavailable)
        newest.bind(1, blob: logID)
        if try newest.step(as: .unavailable) {
            let bytes = newest.blob(0)
            newest.reset()
            guard let frontier = TreeFrontier(bytes: bytes) else {
                throw StoreError(
                    code: .unavailable,
                    message: "the newest frontier of log \(HexText.text(logID)) in ledger_tree_leaves is damaged; the tree cannot be continued (ledger-rpc verify --store says what else changed)")
            }
            self.frontier = frontier
        } else {
            newest.reset()
            self.frontier = TreeFrontier()
        }
        self.addLeaves = try connection.prepare(
            "INSERT INTO ledger_tree_leaves (log_id, first_leaf, first_seq, last_seq, records, frontier) VALUES (?, ?, ?, ?, ?, ?)",
            as: .unavailable)
    }

    /// Starts hashing a commit's leaves beside its rows, foreseeing that each event is stored, in
    /// order from `firstSequence`: nil without a leaf for each event, which `add` then hashes itself.
    func foresee(_ events: [LedgerEvent], leaves: [LeafPrefix], firstSequence: Int64) -> LeafHasher.Hashing? {
        guard !events.isEmpty, leaves.count == events.count else { return nil }
        return self.hasher.start(
            events, leaves: leaves, sequences: Array(firstSequence..<firstSequence + Int64(events.count)),
            after: self.frontier)
    }

    /// Takes the commit's stored events as the log's next leaves: what `foreseen` hashed when every
    /// event was stored as foreseen, or else hashed here. Their metadata is canonical: the daemon's
    /// ingest queue makes it so before the store sees it (`LedgerEvent.canonicalizeMetadata`).
    /// - Parameter sequences: each event's, nil for one whose id was already stored.
    func add(_ events: [LedgerEvent], sequences: [Int64?], leaves: [LeafPrefix], foreseen: LeafHasher.Hashing?) {
        // Waited for whatever it is used for, so that no commit's hashing outlasts it.
        if let hashed = foreseen?.wait(), hashed.fit(self.frontier, storing: sequences) {
            self.pending = hashed
            return
        }
        let added = LeafHasher.hash(events, leaves: leaves, sequences: sequences, after: self.frontier, scratch: &self.scratch)
        self.pending = added.records.isEmpty ? nil : added
    }

    /// In the open transaction, when no log has a leaf yet: the events stored before any log began
    /// become this log's first leaves (`LogAdoption`). Returns how many.
    func adoptEarlierEvents(on connection: SQLiteConnection) throws(StoreError) -> UInt64 {
        let begun = try connection.prepare("SELECT EXISTS (SELECT 1 FROM ledger_tree_leaves)", as: .unavailable)
        let anyLeaf = try begun.step(as: .unavailable) && begun.integer(0) == 1
        begun.reset()
        guard !anyLeaf else { return 0 }
        let read = try connection.prepare(SQLiteTreeReader.eventsFromSequence, as: .unavailable)
        defer { read.reset() }
        var adoption = LogAdoption(metadataIsStoredText: true)
        var adopted: UInt64 = 0
        while let first = adoption.nextRead {
            read.reset()
            read.bind([.integer(first), .integer(Int64(LogAdoption.pageSize))])
            var events: [LedgerEvent] = []
            while try read.step(as: .unavailable) { events.append(try EventColumns.event(from: SQLiteRow(statement: read))) }
            guard let hashed = try adoption.adopt(events) else { break }
            try self.write(hashed)
            self.frontier = hashed.frontier
            adopted += UInt64(hashed.records.count)
        }
        if adopted > 0, let last = adoption.lastSequence { self.lastSequence = last }
        return adopted
    }

    /// Writes the commit's leaves with the frontier after them, in the open transaction.
    func write() throws(StoreError) {
        guard let pending = self.pending else { return }
        try self.write(pending)
    }

    /// The row of `added`'s leaves, which continue the frontier they were hashed after.
    private func write(_ added: LeafHasher.Hashed) throws(StoreError) {
        guard let first = added.records.first, let last = added.records.last else { return }
        self.addLeaves.reset()
        self.addLeaves.bind(1, blob: self.logID)
        self.addLeaves.bind(2, integer: Int64(added.start.size))
        self.addLeaves.bind(3, integer: first.sequence)
        self.addLeaves.bind(4, integer: last.sequence)
        self.addLeaves.bind(5, blob: LeafRecord.encode(added.records))
        self.addLeaves.bind(6, blob: added.frontier.bytes)
        _ = try self.addLeaves.step(as: .writeFailed)
        self.addLeaves.reset()
    }

    /// The commit is in: its leaves are the tree's.
    func committed() {
        if let pending = self.pending, let last = pending.records.last {
            self.frontier = pending.frontier
            self.lastSequence = last.sequence
        }
        self.discard()
    }

    /// The commit was rolled back: its leaves never were.
    func discard() {
        self.pending = nil
    }
}
