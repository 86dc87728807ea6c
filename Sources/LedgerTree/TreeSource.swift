import Foundation
import LedgerProtocol

/// Where a verifier or a prover reads a ledger's logs from: the store's file directly, or a daemon.
/// Every list comes in order and in pages, so that checking a ledger of any size holds one page at a time.
public protocol TreeSource: Sendable {
    /// Whether events come with their metadata exactly as the daemon stored it, in canonical form,
    /// so that a leaf hashes it as it stands: any change to the stored text, even one that keeps
    /// the JSON value, then shows. False for a source whose metadata must be rendered first.
    var metadataIsStoredText: Bool { get }
    /// Every log the ledger keeps.
    func logs() async throws -> [LogSummary]
    /// Up to `limit` of the log's signed heads of at least `size` leaves, smallest first.
    func heads(logID: [UInt8], fromSize size: UInt64, limit: Int) async throws -> [SignedTreeHead]
    /// The log's newest signed head.
    func latestHead(logID: [UInt8]) async throws -> SignedTreeHead?
    /// Up to about `limit` of the log's leaf records from leaf number `leaf` on, in leaf order.
    func leafRecords(logID: [UInt8], from leaf: UInt64, limit: Int) async throws -> [LeafRecord]
    /// A frontier the log stored with one of its commits, at a tree size within `sizes`: nil when no
    /// commit of the log ended there, or the source offers none, and a prover hashes leaves instead.
    func frontier(logID: [UInt8], sizeWithin sizes: Range<UInt64>) async throws -> TreeFrontier?
    /// The leaf number of the event committed at `sequence` in the log, if the log holds it.
    func leaf(ofSequence sequence: Int64, logID: [UInt8]) async throws -> UInt64?
    /// The commit sequence of the stored event with this id.
    func sequence(ofEvent id: UUID) async throws -> Int64?
    /// Up to `limit` stored events committed after `sequence`, in commit order, each with its sequence;
    /// after `Int64.min`, from the very first (`CommitSequence.first(after:)`).
    func events(afterSequence sequence: Int64, limit: Int) async throws -> [LedgerEvent]
    /// Up to `limit` of retention's tombstones of events committed after `sequence`, in commit order.
    func tombstones(afterSequence sequence: Int64, limit: Int) async throws -> [Tombstone]
}

extension TreeSource {
    /// A daemon relays no frontiers: the verifier recomputes every one, and proofs are made in the daemon.
    public func frontier(logID: [UInt8], sizeWithin sizes: Range<UInt64>) async throws -> TreeFrontier? { nil }
}

/// A log as its store keeps it: which key, and how far its tree has grown.
public struct LogSummary: Sendable, Hashable {
    public var logID: [UInt8]
    public var publicKey: [UInt8]
    public var size: UInt64
    public var root: TreeHash

    public init(logID: [UInt8], publicKey: [UInt8], size: UInt64, root: TreeHash) {
        self.logID = logID
        self.publicKey = publicKey
        self.size = size
        self.root = root
    }
}

/// Commit sequences as a tree's reads take them.
public enum CommitSequence {
    /// Where a read of what comes after `sequence` starts: the next sequence; after `Int64.min`,
    /// which a verifier passes to read from the very start, `Int64.min` itself, so that a row written
    /// there is read too; nil after `Int64.max`, where nothing is.
    public static func first(after sequence: Int64) -> Int64? {
        if sequence == Int64.min { return Int64.min }
        return sequence == Int64.max ? nil : sequence + 1
    }
}
