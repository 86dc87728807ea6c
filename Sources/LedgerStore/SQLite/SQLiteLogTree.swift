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
    private let updateTree: SQLiteStatement
    private var scratch = ByteBuffer()
    private var records: [LeafRecord] = []
    private var pending: TreeFrontier?

    /// Opens the log of `key`, creating its empty tree the first time the key is used with this file.
    init(key: LogPublicKey, connection: SQLiteConnection) throws(StoreError) {
        let logID = key.logID.bytes
        self.logID = logID
        let select = try connection.prepare("SELECT frontier FROM ledger_tree WHERE log_id = ?", as: .unavailable)
        select.bind(1, blob: logID)
        if try select.step(as: .unavailable) {
            let bytes = select.blob(0)
            select.reset()
            guard let frontier = TreeFrontier(bytes: bytes) else {
                throw StoreError(
                    code: .unavailable,
                    message: "the stored frontier of log \(HexText.text(logID)) in ledger_tree is damaged; the tree cannot be continued (ledger-rpc verify --store says what else changed)")
            }
            self.frontier = frontier
        } else {
            select.reset()
            self.frontier = TreeFrontier()
            let create = try connection.prepare(
                "INSERT INTO ledger_tree (log_id, public_key, size, root, frontier) VALUES (?, ?, 0, ?, ?)", as: .unavailable)
            create.bind(1, blob: logID)
            create.bind(2, blob: key.raw)
            create.bind(3, blob: TreeHash.empty.bytes)
            create.bind(4, blob: self.frontier.bytes)
            _ = try create.step(as: .unavailable)
            create.reset()
        }
        self.addLeaves = try connection.prepare(
            "INSERT INTO ledger_tree_leaves (log_id, first_leaf, first_seq, last_seq, records) VALUES (?, ?, ?, ?, ?)", as: .unavailable)
        self.updateTree = try connection.prepare("UPDATE ledger_tree SET size = ?, root = ?, frontier = ? WHERE log_id = ?", as: .unavailable)
    }

    /// Takes a stored event into the commit's pending leaves.
    func append(_ event: LedgerEvent, sequence: Int64) {
        let hash = TreeLeaf.hash(event, sequence: sequence, scratch: &self.scratch)
        if self.pending == nil { self.pending = self.frontier }
        self.pending!.append(hash)
        self.records.append(LeafRecord(sequence: sequence, id: event.id, hash: hash))
    }

    /// Writes the commit's leaves and the new frontier, in the open transaction.
    func write() throws(StoreError) {
        guard let pending = self.pending, let first = self.records.first, let last = self.records.last else { return }
        self.addLeaves.reset()
        self.addLeaves.bind(1, blob: self.logID)
        self.addLeaves.bind(2, integer: Int64(self.frontier.size))
        self.addLeaves.bind(3, integer: first.sequence)
        self.addLeaves.bind(4, integer: last.sequence)
        self.addLeaves.bind(5, blob: LeafRecord.encode(self.records))
        _ = try self.addLeaves.step(as: .writeFailed)
        self.addLeaves.reset()
        self.updateTree.reset()
        self.updateTree.bind(1, integer: Int64(pending.size))
        self.updateTree.bind(2, blob: pending.root.bytes)
        self.updateTree.bind(3, blob: pending.bytes)
        self.updateTree.bind(4, blob: self.logID)
        _ = try self.updateTree.step(as: .writeFailed)
        self.updateTree.reset()
    }

    /// The commit is in: its leaves are the tree's.
    func committed() {
        if let pending = self.pending, let last = self.records.last {
            self.frontier = pending
            self.lastSequence = last.sequence
        }
        self.discard()
    }

    /// The commit was rolled back: its leaves never were.
    func discard() {
        self.pending = nil
        self.records.removeAll(keepingCapacity: true)
    }
}
