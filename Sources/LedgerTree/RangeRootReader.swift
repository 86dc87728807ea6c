/// The roots of the leaf ranges an inclusion proof names, read from the frontiers a log stored with
/// its commits wherever one holds the subtree, so that a proof in a log of any size reads a few rows
/// and no more than a few thousand leaves, where hashing every leaf up to the head would outlast any
/// query budget once a log holds tens of millions.
///
/// The frontiers are the store's word, not the signer's: a proof made from them is only given out
/// once its path leads to the signed root.
struct RangeRootReader<Source: TreeSource> {
    let source: Source
    let logID: [UInt8]
    /// The most leaves read for one subtree that no stored frontier holds: a commit's row or two.
    let leafReadLimit: UInt64
    /// The last records read, from the leaf they start at.
    private var kept: (from: UInt64, records: [LeafRecord]) = (0, [])

    init(source: Source, logID: [UInt8], leafReadLimit: UInt64) {
        self.source = source
        self.logID = logID
        self.leafReadLimit = leafReadLimit
    }

    /// The root of `range`, one of the ranges `MerkleProofs.inclusionRanges` gives: its perfect
    /// subtrees, one per set bit of its length, largest first, are a frontier's, and fold as one.
    mutating func root(of range: Range<UInt64>) async throws -> TreeHash? {
        var subtrees: [TreeHash] = []
        var start = range.lowerBound
        while start < range.upperBound {
            let size = Self.largestPowerOfTwo(atMost: range.upperBound - start)
            guard let root = try await self.perfectRoot(from: start, size: size) else { return nil }
            subtrees.append(root)
            start += size
        }
        return subtrees.isEmpty ? nil : TreeFrontier(size: UInt64(range.count), roots: subtrees)?.root
    }

    /// The root of the perfect subtree of `size` leaves from `start`. A left child is a root of the
    /// frontier at every size from its end to its parent's end, so any commit that ended there
    /// stored it. A right child, or a left one that one commit spans the window of, is read from its
    /// leaves while they are few, else it is its two halves.
    private mutating func perfectRoot(from start: UInt64, size: UInt64) async throws -> TreeHash? {
        try Task.checkCancellation()
        // Sizes past 2^62 (no log holds that many leaves) are halved rather than let a window overflow.
        if size > self.fewLeaves, size <= UInt64(1) << 62, start % (size * 2) == 0,
            let frontier = try await self.source.frontier(logID: self.logID, sizeWithin: start + size..<start + size * 2),
            let root = frontier.root(ofSubtreeFrom: start, size: size)
        {
            return root
        }
        if size <= self.leafReadLimit {
            guard let records = try await self.records(from: start, count: size) else { return nil }
            var frontier = TreeFrontier()
            for record in records { frontier.append(record.hash) }
            return frontier.root
        }
        let half = size / 2
        guard let left = try await self.perfectRoot(from: start, size: half),
            let right = try await self.perfectRoot(from: start + half, size: half)
        else { return nil }
        return MerkleHash.node(left, right)
    }

    /// Subtrees this small are read from their leaves without looking for a frontier first.
    private var fewLeaves: UInt64 { max(self.leafReadLimit / 64, 1) }

    /// The records of `count` leaves from `start`; nil when the log holds fewer. A read gives whole
    /// commits, so the last one is kept: the path's small subtrees lie side by side.
    private mutating func records(from start: UInt64, count: UInt64) async throws -> ArraySlice<LeafRecord>? {
        if start >= self.kept.from, start + count <= self.kept.from + UInt64(self.kept.records.count) {
            let offset = Int(start - self.kept.from)
            return self.kept.records[offset..<offset + Int(count)]
        }
        var records: [LeafRecord] = []
        while records.count < count {
            let page = try await self.source.leafRecords(logID: self.logID, from: start + UInt64(records.count), limit: Int(count) - records.count)
            guard !page.isEmpty else { return nil }
            records += page
        }
        self.kept = (start, records)
        return records[0..<Int(count)]
    }

    /// The hash of leaf number `leaf`.
    mutating func leafHash(_ leaf: UInt64) async throws -> TreeHash? {
        try await self.records(from: leaf, count: 1)?.first?.hash
    }

    private static func largestPowerOfTwo(atMost count: UInt64) -> UInt64 {
        UInt64(1) << UInt64(63 - count.leadingZeroBitCount)
    }
}
