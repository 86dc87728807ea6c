import Foundation
import LedgerClient
import LedgerProtocol
import LedgerTree

/// A ledger's logs read through its daemon (`tree_read`), for `verify` without `--store`: the
/// verifier checks what the daemon relays against the log's public key and saved heads, so a
/// daemon that alters what it relays fails verification as a changed store would.
struct DaemonTreeSource: TreeSource {
    let client: LedgerClient
    /// Whether the daemon relays the metadata text it stored, which it says with each page of events.
    let metadataIsStoredText: Bool

    /// Asks the daemon for its events' form once, so the verifier knows how to hash their metadata.
    static func connect(_ client: LedgerClient) async throws -> DaemonTreeSource {
        guard case .events(_, let storedText) = try await client.treeRead(.events(afterSequence: Int64.max, limit: 1)) else {
            throw Self.unexpected("events")
        }
        return DaemonTreeSource(client: client, metadataIsStoredText: storedText)
    }

    private static func unexpected(_ part: String) -> TreeError {
        TreeError(.badStore, "ledgerd answered a tree_read for \(part) with another part")
    }

    func logs() async throws -> [LogSummary] {
        guard case .logs(let logs) = try await self.client.treeRead(.logs) else { throw Self.unexpected("logs") }
        return try logs.map { log in
            guard let root = TreeHash(bytes: log.root) else { throw Self.unexpected("logs") }
            return LogSummary(logID: log.logID, publicKey: log.publicKey, size: log.size, root: root)
        }
    }

    func heads(logID: [UInt8], fromSize size: UInt64, limit: Int) async throws -> [SignedTreeHead] {
        guard case .heads(let heads) = try await self.client.treeRead(.heads(logID: logID, fromSize: size, limit: UInt32(clamping: limit))) else {
            throw Self.unexpected("heads")
        }
        return heads
    }

    func latestHead(logID: [UInt8]) async throws -> SignedTreeHead? {
        guard case .heads(let heads) = try await self.client.treeRead(.latestHead(logID: logID)) else { throw Self.unexpected("the newest head") }
        return heads.first
    }

    func leafRecords(logID: [UInt8], from leaf: UInt64, limit: Int) async throws -> [LeafRecord] {
        guard case .leafRecords(let bytes) = try await self.client.treeRead(.leafRecords(logID: logID, from: leaf, limit: UInt32(clamping: limit))),
            let records = LeafRecord.decode(bytes)
        else { throw Self.unexpected("leaf records") }
        return records
    }

    func leaf(ofSequence sequence: Int64, logID: [UInt8]) async throws -> UInt64? {
        guard case .number(let leaf) = try await self.client.treeRead(.leafOfSequence(logID: logID, sequence: sequence)) else {
            throw Self.unexpected("a leaf number")
        }
        return leaf.map { UInt64(clamping: $0) }
    }

    func sequence(ofEvent id: UUID) async throws -> Int64? {
        guard case .number(let sequence) = try await self.client.treeRead(.sequenceOfEvent(id)) else { throw Self.unexpected("a sequence") }
        return sequence
    }

    func events(afterSequence sequence: Int64, limit: Int) async throws -> [LedgerEvent] {
        guard case .events(let events, _) = try await self.client.treeRead(.events(afterSequence: sequence, limit: UInt32(clamping: limit))) else {
            throw Self.unexpected("events")
        }
        return events
    }

    func tombstones(afterSequence sequence: Int64, limit: Int) async throws -> [Tombstone] {
        guard case .tombstones(let tombstones) = try await self.client.treeRead(.tombstones(afterSequence: sequence, limit: UInt32(clamping: limit))) else {
            throw Self.unexpected("tombstones")
        }
        return tombstones
    }
}
