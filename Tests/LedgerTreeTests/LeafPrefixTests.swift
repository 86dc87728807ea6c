import Foundation
import LedgerProtocol
import LedgerTree
import NIOCore
import Testing

/// The daemon hashes each leaf up to its sequence as the event is queued, and the store finishes it
/// at commit: what it finishes must be the leaf that docs/VERIFY.md defines, whatever the event.
@Suite struct LeafPrefixTests {
    /// Events whose leaves end at every offset within a SHA-256 block and across block boundaries,
    /// with and without a sender, a timestamp, optional ids and canonical metadata.
    static func events() -> [LedgerEvent] {
        (0..<200).map { index in
            LedgerEvent(
                id: UUID.ledgerV7(unixMilliseconds: 1_790_000_000_000 + UInt64(index)),
                timestamp: index % 7 == 0 ? nil : LedgerTimestamp(rawValue: 1_790_000_000_000_000 + Int64(index)),
                eventType: index % 3 == 0 ? "job_created" : "video_uploaded", entityType: "video_asset",
                entityID: String(repeating: "v", count: index), metadata: index % 5 == 0 ? "" : "{\"n\":\(index),\"title\":\"caf\\u00e9\"}",
                severity: index % 2 == 0 ? .info : .error, workerID: index % 4 == 0 ? nil : "w-\(index)",
                jobID: index % 6 == 0 ? UUID() : nil, peer: index % 3 == 1 ? nil : PeerCredentials(uid: UInt32(index), pid: Int32(-index)))
        }
    }

    @Test func aFinishedPrefixIsTheLeafHash() {
        var scratch = ByteBuffer()
        for (index, event) in Self.events().enumerated() {
            var canonical = event
            canonical.canonicalizeMetadata()
            let prefix = LeafPrefix(canonical, canonical: true, scratch: &scratch)
            let sequence = Int64(index) * 1_000_003 + 1
            #expect(prefix.hash(sequence: sequence) == TreeLeaf.hash(event, sequence: sequence), "event \(index)")
        }
    }

    /// A prefix is finished more than once when a commit is retried after a failure, each time with
    /// the numbers of that attempt: finishing it must leave it as it was.
    @Test func finishingAPrefixLeavesItForTheNextAttempt() {
        var scratch = ByteBuffer()
        let event = Self.events()[120]
        let prefix = LeafPrefix(event, canonical: false, scratch: &scratch)
        let first = prefix.hash(sequence: 41)
        let second = prefix.hash(sequence: 42)
        #expect(first == TreeLeaf.hash(event, sequence: 41))
        #expect(second == TreeLeaf.hash(event, sequence: 42))
        #expect(first != second)
        #expect(prefix.hash(sequence: 41) == first)
    }
}
