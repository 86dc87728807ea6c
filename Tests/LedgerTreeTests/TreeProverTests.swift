import Foundation
import LedgerProtocol
import LedgerTree
import NIOConcurrencyHelpers
import Testing

/// Proofs made from the frontiers a log stored with its commits are RFC 9162's, whatever the
/// commits' sizes, read little of a large log, and come out right even when a stored frontier lies.
@Suite struct TreeProverTests {
    /// A log as a store keeps it: one row per commit, with its records and the frontier after them.
    final class StoredLog: TreeSource {
        struct Row {
            var first: UInt64
            var records: [LeafRecord]
            var frontier: TreeFrontier
        }

        let logID = [UInt8](repeating: 7, count: 32)
        let metadataIsStoredText = true
        let rows: [Row]
        let records: [LeafRecord]
        /// Frontiers offered to a prover; false for a source that offers none.
        let offersFrontiers: Bool
        private let counts = NIOLockedValueBox((records: 0, frontiers: 0))

        init(commitSizes: [Int], offersFrontiers: Bool = true, damage: (inout [Row]) -> Void = { _ in }) {
            var rows: [Row] = []
            var records: [LeafRecord] = []
            var frontier = TreeFrontier()
            for size in commitSizes {
                let first = frontier.size
                let commit = (0..<size).map { offset -> LeafRecord in
                    let leaf = Int(first) + offset
                    return LeafRecord(sequence: Int64(leaf) + 1, id: Self.id(leaf), hash: MerkleHash.leaf(Array("leaf \(leaf)".utf8)))
                }
                for record in commit { frontier.append(record.hash) }
                records += commit
                rows.append(Row(first: first, records: commit, frontier: frontier))
            }
            damage(&rows)
            self.rows = rows
            self.records = records
            self.offersFrontiers = offersFrontiers
        }

        static func id(_ leaf: Int) -> UUID {
            UUID(uuid: (0, 0, 0, 0, 0, 0, 0x40, 0, 0x80, 0, 0, 0, UInt8(leaf >> 24 & 0xff), UInt8(leaf >> 16 & 0xff), UInt8(leaf >> 8 & 0xff), UInt8(leaf & 0xff)))
        }

        var recordsRead: Int { self.counts.withLockedValue { $0.records } }
        var frontiersRead: Int { self.counts.withLockedValue { $0.frontiers } }

        /// The head a signer would give at `size` leaves; the prover checks only its root, not its signature.
        func head(size: UInt64) -> SignedTreeHead {
            var frontier = TreeFrontier()
            for record in self.records.prefix(Int(size)) { frontier.append(record.hash) }
            return SignedTreeHead(logID: self.logID, treeSize: size, rootHash: frontier.root.bytes, timestamp: LedgerTimestamp(rawValue: 0), signature: [])
        }

        func logs() async throws -> [LogSummary] { [] }
        func heads(logID: [UInt8], fromSize size: UInt64, limit: Int) async throws -> [SignedTreeHead] { [] }
        func latestHead(logID: [UInt8]) async throws -> SignedTreeHead? { nil }

        func leafRecords(logID: [UInt8], from leaf: UInt64, limit: Int) async throws -> [LeafRecord] {
            let page = Array(self.records[min(Int(leaf), self.records.count)..<min(Int(leaf) + limit, self.records.count)])
            self.counts.withLockedValue { $0.records += page.count }
            return page
        }

        func frontier(logID: [UInt8], sizeWithin sizes: Range<UInt64>) async throws -> TreeFrontier? {
            guard self.offersFrontiers else { return nil }
            self.counts.withLockedValue { $0.frontiers += 1 }
            return self.rows.last { sizes.contains($0.frontier.size) }?.frontier
        }

        func leaf(ofSequence sequence: Int64, logID: [UInt8]) async throws -> UInt64? {
            sequence >= 1 && sequence <= self.records.count ? UInt64(sequence - 1) : nil
        }

        func sequence(ofEvent id: UUID) async throws -> Int64? {
            let bytes = id.uuid
            let leaf = Int(bytes.12) << 24 | Int(bytes.13) << 16 | Int(bytes.14) << 8 | Int(bytes.15)
            return leaf < self.records.count ? Int64(leaf) + 1 : nil
        }

        func events(afterSequence sequence: Int64, limit: Int) async throws -> [LedgerEvent] { [] }
        func tombstones(afterSequence sequence: Int64, limit: Int) async throws -> [Tombstone] { [] }
    }

    /// The path as RFC 9162 defines it, from every leaf.
    static func expectedPath(_ log: StoredLog, leaf: UInt64, size: UInt64) -> [[UInt8]] {
        var roots = RangeRoots(MerkleProofs.inclusionRanges(index: leaf, size: size))
        for record in log.records.prefix(Int(roots.end)) { roots.take(record.hash) }
        return (roots.roots ?? []).map(\.bytes)
    }

    static func commitSizes(total: Int, seed: UInt64, largest: Int) -> [Int] {
        var random = SplitMix64(state: seed)
        var sizes: [Int] = []
        var left = total
        while left > 0 {
            let size = min(left, Int(random.next() % UInt64(largest)) + 1)
            sizes.append(size)
            left -= size
        }
        return sizes
    }

    @Test(arguments: [1 as UInt64, 2, 3])
    func proofsFromStoredFrontiersAreTheDefinitions(seed: UInt64) async throws {
        let log = StoredLog(commitSizes: Self.commitSizes(total: 3_000, seed: seed, largest: 90))
        var random = SplitMix64(state: seed &+ 100)
        // Heads at commit ends, as a daemon signs them, the whole log's included.
        let ends = log.rows.map { $0.frontier.size }
        for size in [ends[ends.count - 1], ends[ends.count / 2], ends[3]] {
            let head = log.head(size: size)
            var leaves: Set<UInt64> = [0, size - 1, size / 2]
            for _ in 0..<40 { leaves.insert(random.next() % size) }
            for leaf in leaves {
                let proof = try await TreeProver.inclusion(of: StoredLog.id(Int(leaf)), under: head, source: log, leafReadLimit: 256)
                #expect(proof.leafIndex == leaf)
                #expect(proof.path == Self.expectedPath(log, leaf: leaf, size: size), "leaf \(leaf) of \(size)")
            }
        }
        #expect(log.frontiersRead > 0, "the proofs never asked for a stored frontier")
    }

    @Test func aProofInALargeLogReadsFewOfItsLeaves() async throws {
        let log = StoredLog(commitSizes: Self.commitSizes(total: 400_000, seed: 9, largest: 2_000))
        let size = UInt64(log.records.count)
        for leaf in [0, size / 3, size - 1] {
            let before = log.recordsRead
            let proof = try await TreeProver.inclusion(of: StoredLog.id(Int(leaf)), under: log.head(size: size), source: log)
            #expect(proof.path == Self.expectedPath(log, leaf: leaf, size: size))
            // The leaves beside the event, and at most 4,096 for each subtree on its right that no
            // frontier holds: a tenth of what a pass up to the head reads, and less the larger the log.
            #expect(log.recordsRead - before < 40_000, "leaf \(leaf): \(log.recordsRead - before) records read")
        }
    }

    @Test func aProofIsRightWhenStoredFrontiersAreMissingOrWrong() async throws {
        let sizes = Self.commitSizes(total: 2_000, seed: 4, largest: 60)
        let none = StoredLog(commitSizes: sizes, offersFrontiers: false)
        // Every stored frontier's subtrees replaced by another hash, as a damaged row would hold.
        let wrong = StoredLog(commitSizes: sizes) { rows in
            for index in rows.indices {
                let frontier = rows[index].frontier
                rows[index].frontier = TreeFrontier(size: frontier.size, roots: frontier.roots.map { _ in MerkleHash.leaf([1]) })!
            }
        }
        let right = StoredLog(commitSizes: sizes)
        for log in [none, wrong, right] {
            let size = UInt64(log.records.count)
            for leaf in [0, 777, size - 1] {
                let noticed = NIOLockedValueBox(false)
                let proof = try await TreeProver.inclusion(
                    of: StoredLog.id(Int(leaf)), under: log.head(size: size), source: log, leafReadLimit: 256,
                    frontiersDisagree: { noticed.withLockedValue { $0 = true } })
                #expect(proof.path == Self.expectedPath(log, leaf: leaf, size: size), "leaf \(leaf)")
                // Only frontiers that were read and wrong are worth a word to the operator.
                #expect(noticed.withLockedValue { $0 } == (log === wrong), "leaf \(leaf)")
            }
        }
        #expect(wrong.frontiersRead > 0)
    }

    @Test func aFrontierGivesTheSubtreesItHoldsAndNoOther() {
        var frontier = TreeFrontier()
        let leaves = (0..<13).map { MerkleHash.leaf([UInt8($0)]) }
        for leaf in leaves { frontier.append(leaf) }
        // 13 leaves: subtrees of 8 from 0, 4 from 8, 1 from 12.
        var eight = TreeFrontier()
        for leaf in leaves.prefix(8) { eight.append(leaf) }
        #expect(frontier.root(ofSubtreeFrom: 0, size: 8) == eight.root)
        #expect(frontier.root(ofSubtreeFrom: 12, size: 1) == leaves[12])
        #expect(frontier.root(ofSubtreeFrom: 8, size: 4) != nil)
        #expect(frontier.root(ofSubtreeFrom: 8, size: 2) == nil)
        #expect(frontier.root(ofSubtreeFrom: 0, size: 4) == nil)
        #expect(frontier.root(ofSubtreeFrom: 4, size: 4) == nil)
    }
}
