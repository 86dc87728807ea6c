import Foundation
import LedgerProtocol

/// Makes inclusion proofs from a source's leaf records: from the frontiers its commits stored and
/// the leaves near the event (`RangeRootReader`), or, when those do not lead to the signed root, in
/// one pass over the leaves up to the proof's last subtree.
public enum TreeProver {
    /// The most leaves a proof reads for one subtree that no stored frontier holds.
    public static let leafReadLimit: UInt64 = 4_096

    /// The proof that event `id` is a leaf of the tree `head` signed.
    /// - Parameter frontiersDisagree: called when the frontiers stored with the log's commits gave a
    ///   path that does not lead to the signed root, and the leaves alone gave one that does: a row
    ///   changed outside ledgerd, which the proof, made from the leaves, does not depend on.
    public static func inclusion(
        of id: UUID, under head: SignedTreeHead, source: some TreeSource, leafReadLimit: UInt64 = Self.leafReadLimit,
        frontiersDisagree: () -> Void = {}
    ) async throws -> InclusionProof {
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
        guard let root = TreeHash(bytes: head.rootHash) else {
            throw TreeError(.badProof, "the signed head's root is not 32 bytes")
        }
        let ranges = MerkleProofs.inclusionRanges(index: leaf, size: head.treeSize)
        var reader = RangeRootReader(source: source, logID: head.logID, leafReadLimit: max(leafReadLimit, 1))
        let leads = { (found: (leaf: TreeHash, path: [TreeHash])) in
            MerkleProofs.verifyInclusion(leaf: found.leaf, index: leaf, size: head.treeSize, proof: found.path, root: root)
        }
        let quick = try await Self.path(ranges, leaf: leaf, from: &reader)
        let found: (leaf: TreeHash, path: [TreeHash])
        if let quick, leads(quick) {
            found = quick
        } else if let slow = try await Self.path(ranges, leaf: leaf, inOnePassOver: source, logID: head.logID), leads(slow) {
            if quick != nil { frontiersDisagree() }
            found = slow
        } else {
            throw TreeError(
                .badStore, "the log's leaf records do not lead to the root its head signed; `ledger-rpc verify` says where they were changed")
        }
        return InclusionProof(
            head: head, eventID: id, sequence: sequence, leafIndex: leaf, leafHash: found.leaf.bytes, path: found.path.map(\.bytes))
    }

    /// The leaf's hash and its path, from stored frontiers and nearby leaves; nil when the log lacks a leaf the path needs.
    private static func path<Source: TreeSource>(
        _ ranges: [Range<UInt64>], leaf: UInt64, from reader: inout RangeRootReader<Source>
    ) async throws -> (leaf: TreeHash, path: [TreeHash])? {
        guard let leafHash = try await reader.leafHash(leaf) else { return nil }
        var path: [TreeHash] = []
        for range in ranges {
            guard let hash = try await reader.root(of: range) else { return nil }
            path.append(hash)
        }
        return (leafHash, path)
    }

    /// The leaf's hash and its path, from every leaf up to the path's last subtree, whatever the stored frontiers say.
    private static func path(
        _ ranges: [Range<UInt64>], leaf: UInt64, inOnePassOver source: some TreeSource, logID: [UInt8]
    ) async throws -> (leaf: TreeHash, path: [TreeHash])? {
        var roots = RangeRoots(ranges)
        var leafHash: TreeHash?
        var next: UInt64 = 0
        let end = max(roots.end, leaf + 1)
        while next < end {
            // A proof asked for by a client that left, or past the daemon's budget, stops here.
            try Task.checkCancellation()
            let page = try await source.leafRecords(logID: logID, from: next, limit: 65_536)
            guard !page.isEmpty else { break }
            for record in page where next < end {
                if next == leaf { leafHash = record.hash }
                roots.take(record.hash)
                next += 1
            }
        }
        guard let leafHash, let path = roots.roots else { return nil }
        return (leafHash, path)
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
