import Foundation
import LedgerTree
import Testing

/// RFC 9162's tree, checked against the definition (MTH, PATH and PROOF written out recursively,
/// as section 2.1 states them) and against the published values of Certificate Transparency's tests.
@Suite struct MerkleTreeTests {
    /// The leaves of Certificate Transparency's reference tests, as hex.
    static let referenceLeaves = ["", "00", "10", "2021", "3031", "40414243", "5051525354555657", "606162636465666768696a6b6c6d6e6f"]
    /// The root of the tree of the first n of those leaves, for n from 1 to 8.
    static let referenceRoots = [
        "6e340b9cffb37a989ca544e6bb780a2c78901d3fb33738768511a30617afa01d",
        "fac54203e7cc696cf0dfcb42c92a1d9dbaf70ad9e621f4bd8d98662f00e3c125",
        "aeb6bcfe274b70a14fb067a5e5578264db0fa9b51af5e0ba159158f329e06e77",
        "d37ee418976dd95753c1c73862b9398fa2a2cf9b4ff0fdfe8b30cd95209614b7",
        "4e3bbb1f7b478dcfe71fb631631519a3bca12c9aefca1612bfce4c13a86264d4",
        "76e67dadbcdf1e10e1b74ddc608abd2f98dfb16fbce75277b5232a127f2087ef",
        "ddb89be403809e325750d3d263cd78929c2942b7942a34b77e122c9594a74c8c",
        "5dc9da79a70659a9ad559cb701ded9a2ab9d823aad2f4960cfe370eff4604328",
    ]

    @Test func frontierGivesTheReferenceRoots() throws {
        var frontier = TreeFrontier()
        #expect(frontier.root.hex == "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855")
        for (leaf, root) in zip(Self.referenceLeaves, Self.referenceRoots) {
            frontier.append(MerkleHash.leaf(try #require(HexText.bytes(leaf))))
            #expect(frontier.root.hex == root, "size \(frontier.size)")
        }
    }

    /// MTH of RFC 9162, 2.1.1, word for word.
    static func mth(_ leaves: ArraySlice<TreeHash>) -> TreeHash {
        if leaves.isEmpty { return .empty }
        if leaves.count == 1 { return leaves.first! }
        var k = 1
        while k * 2 < leaves.count { k *= 2 }
        let start = leaves.startIndex
        return MerkleHash.node(mth(leaves[start..<start + k]), mth(leaves[(start + k)...]))
    }

    static func leaves(_ count: Int) -> [TreeHash] {
        (0..<count).map { MerkleHash.leaf(Array("leaf \($0)".utf8)) }
    }

    @Test func frontierRootIsTheDefinitionsAtEverySize() {
        let leaves = Self.leaves(70)
        var frontier = TreeFrontier()
        for count in 1...leaves.count {
            frontier.append(leaves[count - 1])
            #expect(frontier.root == Self.mth(leaves[0..<count]), "size \(count)")
            #expect(TreeFrontier(bytes: frontier.bytes) == frontier)
        }
    }

    @Test func frontierRejectsStoredFormsThatDoNotFit() {
        var frontier = TreeFrontier()
        for leaf in Self.leaves(3) { frontier.append(leaf) }
        var bytes = frontier.bytes
        bytes[7] = 4  // size 4 has one subtree, the bytes hold two
        #expect(TreeFrontier(bytes: bytes) == nil)
        #expect(TreeFrontier(bytes: Array(frontier.bytes.dropLast())) == nil)
    }

    static func proofHashes(_ ranges: [Range<UInt64>], _ leaves: [TreeHash]) -> [TreeHash] {
        var roots = RangeRoots(ranges)
        for leaf in leaves.prefix(Int(roots.end)) { roots.take(leaf) }
        return roots.roots!
    }

    @Test func everyInclusionProofVerifiesAndNoAlteredOneDoes() {
        let leaves = Self.leaves(33)
        for size in 1...leaves.count {
            let root = Self.mth(leaves[0..<size])
            for index in 0..<size {
                let proof = Self.proofHashes(MerkleProofs.inclusionRanges(index: UInt64(index), size: UInt64(size)), leaves)
                #expect(MerkleProofs.verifyInclusion(leaf: leaves[index], index: UInt64(index), size: UInt64(size), proof: proof, root: root))
                let other = (index + 1) % size
                if other != index {
                    #expect(!MerkleProofs.verifyInclusion(leaf: leaves[other], index: UInt64(index), size: UInt64(size), proof: proof, root: root))
                }
                if !proof.isEmpty {
                    var altered = proof
                    altered[altered.count / 2] = MerkleHash.leaf([0xFF])
                    #expect(!MerkleProofs.verifyInclusion(leaf: leaves[index], index: UInt64(index), size: UInt64(size), proof: altered, root: root))
                    #expect(!MerkleProofs.verifyInclusion(leaf: leaves[index], index: UInt64(index), size: UInt64(size), proof: proof.dropLast(), root: root))
                }
            }
        }
    }

    @Test func everyConsistencyProofVerifiesAndNoAlteredOneDoes() {
        let leaves = Self.leaves(33)
        for second in 1...leaves.count {
            let secondRoot = Self.mth(leaves[0..<second])
            for first in 0...second {
                let firstRoot = Self.mth(leaves[0..<first])
                let proof = Self.proofHashes(MerkleProofs.consistencyRanges(first: UInt64(first), second: UInt64(second)), leaves)
                #expect(
                    MerkleProofs.verifyConsistency(first: UInt64(first), firstRoot: firstRoot, second: UInt64(second), secondRoot: secondRoot, proof: proof),
                    "\(first) to \(second)")
                if first > 0, first < second {
                    // An old tree with one leaf rewritten is not consistent with the new one.
                    var rewritten = Array(leaves[0..<first])
                    rewritten[first - 1] = MerkleHash.leaf([0xEE])
                    #expect(
                        !MerkleProofs.verifyConsistency(
                            first: UInt64(first), firstRoot: Self.mth(rewritten[...]), second: UInt64(second), secondRoot: secondRoot, proof: proof))
                    var altered = proof
                    altered[0] = MerkleHash.leaf([0xFF])
                    #expect(
                        !MerkleProofs.verifyConsistency(
                            first: UInt64(first), firstRoot: firstRoot, second: UInt64(second), secondRoot: secondRoot, proof: altered))
                }
            }
        }
    }
}
