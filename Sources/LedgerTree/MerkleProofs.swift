/// Inclusion and consistency proofs of RFC 9162 (2.1.3 and 2.1.4): which subtrees a proof is made
/// of, and how a verifier checks one. A proof's hashes are the roots of those subtrees, which
/// `RangeRoots` computes in one pass over the leaves.
public enum MerkleProofs {
    /// The leaf ranges whose roots form the inclusion proof of leaf `index` in a tree of `size`
    /// leaves, in the proof's order (lowest sibling first).
    public static func inclusionRanges(index: UInt64, size: UInt64) -> [Range<UInt64>] {
        precondition(index < size)
        var ranges: [Range<UInt64>] = []
        Self.path(index, 0..<size, into: &ranges)
        return ranges
    }

    private static func path(_ index: UInt64, _ leaves: Range<UInt64>, into ranges: inout [Range<UInt64>]) {
        let count = leaves.count
        guard count > 1 else { return }
        let split = leaves.lowerBound + Self.largestPowerOfTwo(below: UInt64(count))
        if index < split {
            Self.path(index, leaves.lowerBound..<split, into: &ranges)
            ranges.append(split..<leaves.upperBound)
        } else {
            Self.path(index, split..<leaves.upperBound, into: &ranges)
            ranges.append(leaves.lowerBound..<split)
        }
    }

    /// The leaf ranges whose roots form the consistency proof from a tree of `first` leaves to one
    /// of `second`, in the proof's order; empty when the sizes are equal or `first` is 0.
    public static func consistencyRanges(first: UInt64, second: UInt64) -> [Range<UInt64>] {
        precondition(first <= second)
        guard first > 0, first < second else { return [] }
        var ranges: [Range<UInt64>] = []
        Self.subproof(first, 0..<second, complete: true, into: &ranges)
        return ranges
    }

    private static func subproof(_ first: UInt64, _ leaves: Range<UInt64>, complete: Bool, into ranges: inout [Range<UInt64>]) {
        let count = UInt64(leaves.count)
        if first == count {
            if !complete { ranges.append(leaves) }
            return
        }
        let half = Self.largestPowerOfTwo(below: count)
        let split = leaves.lowerBound + half
        if first <= half {
            Self.subproof(first, leaves.lowerBound..<split, complete: complete, into: &ranges)
            ranges.append(split..<leaves.upperBound)
        } else {
            Self.subproof(first - half, split..<leaves.upperBound, complete: false, into: &ranges)
            ranges.append(leaves.lowerBound..<split)
        }
    }

    /// The largest power of two strictly below `count` (which is at least 2): where RFC 9162 splits a tree.
    static func largestPowerOfTwo(below count: UInt64) -> UInt64 {
        precondition(count > 1)
        return 1 << (63 - (count - 1).leadingZeroBitCount)
    }

    /// Whether `proof` shows the leaf hashed `leaf` at `index` in the tree of `size` leaves whose root is `root` (RFC 9162, 2.1.3.2).
    public static func verifyInclusion(leaf: TreeHash, index: UInt64, size: UInt64, proof: [TreeHash], root: TreeHash) -> Bool {
        guard index < size else { return false }
        var fn = index
        var sn = size - 1
        var hash = leaf
        for sibling in proof {
            guard sn > 0 else { return false }
            if fn & 1 == 1 || fn == sn {
                hash = MerkleHash.node(sibling, hash)
                if fn & 1 == 0 {
                    while fn & 1 == 0, fn != 0 {
                        fn >>= 1
                        sn >>= 1
                    }
                }
            } else {
                hash = MerkleHash.node(hash, sibling)
            }
            fn >>= 1
            sn >>= 1
        }
        return sn == 0 && hash == root
    }

    /// Whether `proof` shows the tree of `second` leaves rooted at `secondRoot` extends the one of
    /// `first` leaves rooted at `firstRoot`, every leaf of the first kept in place (RFC 9162, 2.1.4.2).
    public static func verifyConsistency(
        first: UInt64, firstRoot: TreeHash, second: UInt64, secondRoot: TreeHash, proof: [TreeHash]
    ) -> Bool {
        guard first <= second else { return false }
        if first == second { return proof.isEmpty && firstRoot == secondRoot }
        // Every tree extends the empty one, whose root is fixed.
        if first == 0 { return proof.isEmpty && firstRoot == .empty }
        guard !proof.isEmpty else { return false }
        var path = proof
        if first & (first - 1) == 0 { path.insert(firstRoot, at: 0) }
        var fn = first - 1
        var sn = second - 1
        while fn & 1 == 1 {
            fn >>= 1
            sn >>= 1
        }
        var fr = path[0]
        var sr = path[0]
        for node in path.dropFirst() {
            guard sn > 0 else { return false }
            if fn & 1 == 1 || fn == sn {
                fr = MerkleHash.node(node, fr)
                sr = MerkleHash.node(node, sr)
                if fn & 1 == 0 {
                    while fn & 1 == 0, fn != 0 {
                        fn >>= 1
                        sn >>= 1
                    }
                }
            } else {
                sr = MerkleHash.node(sr, node)
            }
            fn >>= 1
            sn >>= 1
        }
        return fr == firstRoot && sr == secondRoot && sn == 0
    }
}

/// The roots of some disjoint leaf ranges, taken in one pass over the leaves in order, holding no
/// more than a frontier per range: how a proof is made from stored leaf hashes without loading them all.
public struct RangeRoots: Sendable {
    private let ranges: [Range<UInt64>]
    /// Indexes into `ranges`, by where the range starts.
    private let order: [Int]
    private var frontiers: [TreeFrontier]
    private var position = 0
    private var next: UInt64 = 0

    public init(_ ranges: [Range<UInt64>]) {
        self.ranges = ranges
        self.order = ranges.indices.sorted { ranges[$0].lowerBound < ranges[$1].lowerBound }
        self.frontiers = Array(repeating: TreeFrontier(), count: ranges.count)
    }

    /// The leaf after the last one a range needs: where the pass can stop.
    public var end: UInt64 { self.ranges.map(\.upperBound).max() ?? 0 }

    /// Takes leaf number `self.nextLeaf`; leaves must come in order, from 0.
    public mutating func take(_ leaf: TreeHash) {
        let index = self.next
        self.next += 1
        while self.position < self.order.count, self.ranges[self.order[self.position]].upperBound <= index { self.position += 1 }
        guard self.position < self.order.count else { return }
        let range = self.order[self.position]
        if self.ranges[range].contains(index) { self.frontiers[range].append(leaf) }
    }

    public var nextLeaf: UInt64 { self.next }

    /// The roots, in the order the ranges were given; nil until every leaf of every range was taken.
    public var roots: [TreeHash]? {
        guard self.next >= self.end else { return nil }
        return self.frontiers.map(\.root)
    }
}
