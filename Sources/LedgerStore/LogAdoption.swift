import LedgerProtocol
import LedgerTree
import NIOCore

/// The events a store held before any of its logs began (committed by a daemon without a tree,
/// `--signing-key off`, or by a version that kept none) become the first log's first leaves, in
/// commit order and in one transaction: so that every stored event is some log's leaf, and
/// `verify` takes any event outside every log for inserted, wherever its sequence puts it.
///
/// Each leaf is hashed from the event as the store reads it back, exactly as its verifier hashes it.
struct LogAdoption {
    /// Events read, hashed and recorded at a time: one row of leaf records each, about 230 KB.
    static let pageSize = 4_096

    /// Whether the store returns metadata as the text it stored (`TreeSource.metadataIsStoredText`).
    let metadataIsStoredText: Bool
    private(set) var frontier = TreeFrontier()
    /// The last adopted event's sequence: the next page starts after it.
    private(set) var lastSequence: Int64?
    private var scratch = ByteBuffer()

    init(metadataIsStoredText: Bool) {
        self.metadataIsStoredText = metadataIsStoredText
    }

    /// What a daemon that could not adopt says as it refuses to start: nothing was adopted, and the
    /// operator learns which row stopped it and how to go on.
    static func failed(_ error: StoreError) -> StoreError {
        StoreError(
            code: error.code,
            message: "the log could not take the events stored before it began as its first leaves, and took none: \(error.message); mend or remove that row, or start with --signing-key off")
    }

    /// The sequence the next page is read from; nil when nothing can follow.
    var nextRead: Int64? {
        guard let last = self.lastSequence else { return Int64.min }
        return last == Int64.max ? nil : last + 1
    }

    /// The leaves of the next page of events read back (in commit order, from `nextRead`),
    /// continuing the ones before; nil once a page is empty.
    mutating func adopt(_ events: [LedgerEvent]) throws(StoreError) -> LeafHasher.Hashed? {
        guard !events.isEmpty else { return nil }
        var hashed = LeafHasher.Hashed(after: self.frontier)
        hashed.records.reserveCapacity(events.count)
        for event in events {
            guard let sequence = event.sequence, self.lastSequence.map({ sequence > $0 }) ?? true else {
                throw StoreError(code: .unavailable, message: "the events stored before the log began did not read back in commit order")
            }
            let leaf = TreeLeaf.hash(event, sequence: sequence, canonical: self.metadataIsStoredText, scratch: &self.scratch)
            hashed.add(leaf, sequence: sequence, id: event.id)
            self.lastSequence = sequence
        }
        self.frontier = hashed.frontier
        return hashed
    }
}
