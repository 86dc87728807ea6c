import Foundation
import LedgerProtocol

/// What `TreeVerifier` found: each log's standing, and the first leaf that is not what was committed.
public struct VerificationReport: Sendable {
    public var logs: [LogResult] = []
    public var firstBadLeaf: BadLeaf?
    public var badLeaves: [BadLeaf.Kind: UInt64] = [:]
    public var eventsChecked: UInt64 = 0
    public var retentionPasses: [RetentionPass] = []
    /// Problems of the ledger as a whole, besides each log's.
    public var problems: [String] = []

    /// True when every log of a given key verified and nothing was found wrong.
    public var verified: Bool {
        self.firstBadLeaf == nil && self.problems.isEmpty && self.logs.contains(where: \.keyGiven)
            && self.logs.allSatisfy { !$0.keyGiven || $0.problems.isEmpty }
    }

    mutating func found(_ bad: BadLeaf) {
        if self.firstBadLeaf == nil { self.firstBadLeaf = bad }
        self.badLeaves[bad.kind, default: 0] += 1
    }
}

public struct LogResult: Sendable {
    public var logID: [UInt8]
    public var keyGiven: Bool
    public var leaves: UInt64
    public var root: TreeHash
    public var latestHead: SignedTreeHead?
    /// Leaves committed after the newest signed head (at most about a second's worth on a running daemon).
    public var unsignedLeaves: UInt64
    /// Leaves whose events retention removed, each with its tombstone.
    public var retained: UInt64
    public var headsChecked: UInt64
    public var problems: [String]
}

/// A leaf whose event is not what was committed there.
public struct BadLeaf: Sendable, Hashable {
    public enum Kind: String, Sendable, Hashable, CaseIterable {
        /// The event at the leaf's place no longer hashes to the leaf.
        case modified
        /// The leaf's event is gone, and no retention pass removed it.
        case removed
        /// An event stands where no leaf was committed.
        case inserted
        /// The leaf's event stands at another place in commit order.
        case reordered
    }

    public var kind: Kind
    public var logID: [UInt8]?
    public var leaf: UInt64?
    public var sequence: Int64
    public var eventID: UUID
    public var detail: String
}

/// Leaves one retention pass removed, by the id of its `ledger_retention` event.
public struct RetentionPass: Sendable, Hashable {
    public var retention: String
    public var removed: UInt64
}
