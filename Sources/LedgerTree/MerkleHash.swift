import Crypto

/// The two hashes of an RFC 9162 tree (2.1.1): a leaf's, prefixed 0x00, and a node's, prefixed
/// 0x01, so that no leaf can pass for a node.
public enum MerkleHash {
    public static func leaf(_ bytes: UnsafeRawBufferPointer) -> TreeHash {
        var hasher = SHA256()
        Swift.withUnsafeBytes(of: UInt8(0)) { hasher.update(bufferPointer: $0) }
        hasher.update(bufferPointer: bytes)
        return TreeHash(hasher.finalize())
    }

    public static func leaf(_ bytes: [UInt8]) -> TreeHash {
        bytes.withUnsafeBytes { Self.leaf($0) }
    }

    public static func node(_ left: TreeHash, _ right: TreeHash) -> TreeHash {
        // One update of the node's 65 bytes: each update costs the hasher more than the bytes do.
        withUnsafeTemporaryAllocation(byteCount: 1 + 2 * TreeHash.byteCount, alignment: 1) { node in
            node[0] = 1
            left.withUnsafeBytes { UnsafeMutableRawBufferPointer(rebasing: node[1...]).copyMemory(from: $0) }
            right.withUnsafeBytes { UnsafeMutableRawBufferPointer(rebasing: node[(1 + TreeHash.byteCount)...]).copyMemory(from: $0) }
            var hasher = SHA256()
            hasher.update(bufferPointer: UnsafeRawBufferPointer(node))
            return TreeHash(hasher.finalize())
        }
    }
}
