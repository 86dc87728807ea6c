import Foundation
import LedgerProtocol

/// Makes inclusion proofs from a source's leaf records, in one pass over the leaves up to the
/// proof's last subtree and no more than a frontier per subtree in memory.
public enum TreeProver {
    /// The proof that event `id` is a leaf of the tree `head` signed.
    public static func inclusion(of id: UUID, under head: SignedTreeHead, source: some TreeSource) async throws -> InclusionProof {
        guard let sequence = try await source.sequence(ofEvent: id) else {
            throw TreeError(.badProof, "no event \(id.lowercaseText) is stored")
        }
        guard let leaf = try await source.leaf(ofSequence: sequence, logID: head.logID) else {
            throw TreeError(
                .badProof,
                "event \(id.lowercaseText) (sequence \(sequence)) is no leaf of log \(HexText.text(head.logID)): another daemon committed it, or it was stored before the log began")
        }
        guard leaf < head.treeSize else {
            throw TreeError(
                .badProof,
                "event \(id.lowercaseText) is leaf \(leaf), after the signed head of \(head.treeSize) leaves; heads are signed every second, so ask again")
        }
        var roots = RangeRoots(MerkleProofs.inclusionRanges(index: leaf, size: head.treeSize))
        var leafHash: TreeHash?
        var next: UInt64 = 0
        let end = max(roots.end, leaf + 1)
        while next < end {
            // A proof asked for by a client that left, or past the daemon's budget, stops here.
            try Task.checkCancellation()
            let page = try await source.leafRecords(logID: head.logID, from: next, limit: 65_536)
            guard !page.isEmpty else { break }
            for record in page where next < end {
                if next == leaf { leafHash = record.hash }
                roots.take(record.hash)
                next += 1
            }
        }
        guard let leafHash, let path = roots.roots, let root = TreeHash(bytes: head.rootHash),
            MerkleProofs.verifyInclusion(leaf: leafHash, index: leaf, size: head.treeSize, proof: path, root: root)
        else {
            throw TreeError(
                .badStore, "the log's leaf records do not lead to the root its head signed; `ledger-rpc verify` says where they were changed")
        }
        return InclusionProof(
            head: head, eventID: id, sequence: sequence, leafIndex: leaf, leafHash: leafHash.bytes, path: path.map(\.bytes))
    }

    /// Whether the proof's path leads from its leaf to its head's root, and the head is signed by `key`.
    public static func check(_ proof: InclusionProof, key: LogPublicKey) -> String? {
        guard key.isValidSignature(proof.head) else {
            return "the proof's tree head is not signed by the given key (log \(key.logID.hex), head's log \(HexText.text(proof.head.logID)))"
        }
        guard let leaf = TreeHash(bytes: proof.leafHash), let root = TreeHash(bytes: proof.head.rootHash) else {
            return "the proof's leaf hash or root is not 32 bytes"
        }
        let path = proof.path.compactMap { TreeHash(bytes: $0) }
        guard path.count == proof.path.count,
            MerkleProofs.verifyInclusion(leaf: leaf, index: proof.leafIndex, size: proof.head.treeSize, proof: path, root: root)
        else {
            return "the inclusion path does not lead from leaf \(proof.leafIndex) to the signed root of \(proof.head.treeSize) leaves"
        }
        return nil
    }
}
