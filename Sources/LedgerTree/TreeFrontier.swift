/// The right edge of an RFC 9162 tree: the roots of its perfect subtrees, largest first, one per
/// set bit of its size. Enough to append a leaf or compute the root in O(log n), which is what a
/// commit keeps (in the store, beside the events) instead of the whole tree.
public struct TreeFrontier: Sendable, Hashable {
    public private(set) var size: UInt64
    /// The roots of the perfect subtrees, left to right (largest first).
    public private(set) var roots: [TreeHash]

    public init() {
        self.size = 0
        self.roots = []
    }

    /// Nil unless `roots` has one hash per set bit of `size`.
    public init?(size: UInt64, roots: [TreeHash]) {
        guard size.nonzeroBitCount == roots.count else { return nil }
        self.size = size
        self.roots = roots
    }

    public mutating func append(_ leaf: TreeHash) {
        var hash = leaf
        var size = self.size
        // Each trailing set bit is a perfect subtree of the new leaf's size, which it now completes.
        while size & 1 == 1 {
            hash = MerkleHash.node(self.roots.removeLast(), hash)
            size >>= 1
        }
        self.roots.append(hash)
        self.size += 1
    }

    /// The tree's root hash: the subtrees folded right to left, as RFC 9162's MTH splits a tree.
    public var root: TreeHash {
        guard var hash = self.roots.last else { return .empty }
        for left in self.roots.dropLast().reversed() {
            hash = MerkleHash.node(left, hash)
        }
        return hash
    }

    /// The root of the perfect subtree of `size` leaves from leaf `start`, when it is one of this
    /// frontier's: a left child of the tree, and this frontier's size past it but short of its parent's end.
    public func root(ofSubtreeFrom start: UInt64, size: UInt64) -> TreeHash? {
        var position: UInt64 = 0
        var index = 0
        for bit in stride(from: 63, through: 0, by: -1) where self.size & (1 << UInt64(bit)) != 0 {
            let span = UInt64(1) << UInt64(bit)
            if position == start && span == size { return self.roots[index] }
            position += span
            index += 1
        }
        return nil
    }

    /// The stored form: the size as 8 bytes big-endian, then each root's 32 bytes.
    public var bytes: [UInt8] {
        var bytes: [UInt8] = []
        bytes.reserveCapacity(8 + self.roots.count * TreeHash.byteCount)
        for shift in stride(from: 56, through: 0, by: -8) { bytes.append(UInt8(truncatingIfNeeded: self.size >> UInt64(shift))) }
        for root in self.roots { bytes.append(contentsOf: root.bytes) }
        return bytes
    }

    /// Nil when the bytes are not a frontier's stored form.
    public init?(bytes: [UInt8]) {
        guard bytes.count >= 8, (bytes.count - 8) % TreeHash.byteCount == 0 else { return nil }
        let size = bytes[0..<8].reduce(UInt64(0)) { $0 << 8 | UInt64($1) }
        var roots: [TreeHash] = []
        var offset = 8
        while offset < bytes.count {
            guard let hash = TreeHash(bytes: bytes[offset..<offset + TreeHash.byteCount]) else { return nil }
            roots.append(hash)
            offset += TreeHash.byteCount
        }
        self.init(size: size, roots: roots)
    }
}
