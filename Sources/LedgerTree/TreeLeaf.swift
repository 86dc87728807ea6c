import Foundation
import LedgerProtocol
import NIOCore

/// The bytes a stored event contributes to its log's tree (docs/VERIFY.md, "Leaf"): its protocol
/// encoding as it reads back from either store, then its sender, then its commit sequence.
///
/// The sequence comes last so that two copies of one event committed at different places hash
/// differently, and the sender is the kernel's word on who wrote it, which no client can change.
public enum TreeLeaf {
    /// The leaf's bytes. The event's metadata is taken in its canonical form, which is what a
    /// query returns from SQLite and PostgreSQL alike, and its timestamp must be set.
    /// - Parameter canonical: whether the metadata is already canonical (as the daemon stores it),
    ///   which spares rendering it again.
    public static func encode(_ event: LedgerEvent, sequence: Int64, canonical: Bool = false, into buffer: inout ByteBuffer) {
        Self.encodePrefix(event, canonical: canonical, into: &buffer)
        buffer.writeInteger(sequence)
    }

    /// The leaf's bytes up to its commit sequence: all of it that is known before the commit.
    static func encodePrefix(_ event: LedgerEvent, canonical: Bool, into buffer: inout ByteBuffer) {
        // The protocol encoding holds neither sender nor sequence: only the metadata and the
        // timestamp may need changing, and an event as the daemon stores it is taken as it stands.
        if canonical, event.timestamp != nil {
            event.encode(into: &buffer)
        } else {
            var stored = event
            if !canonical { stored.metadata = Self.storedMetadata(event.metadata) }
            stored.timestamp = event.timestamp ?? LedgerTimestamp(rawValue: 0)
            stored.encode(into: &buffer)
        }
        if let peer = event.peer {
            buffer.writeInteger(UInt8(1))
            buffer.writeInteger(peer.uid)
            buffer.writeInteger(peer.pid)
        } else {
            buffer.writeInteger(UInt8(0))
        }
    }

    /// The leaf hash of the event committed at `sequence`; `scratch` is reused between calls.
    public static func hash(_ event: LedgerEvent, sequence: Int64, canonical: Bool = false, scratch: inout ByteBuffer) -> TreeHash {
        scratch.clear()
        Self.encode(event, sequence: sequence, canonical: canonical, into: &scratch)
        return scratch.readableBytesView.withUnsafeBytes { MerkleHash.leaf($0) }
    }

    public static func hash(_ event: LedgerEvent, sequence: Int64) -> TreeHash {
        var scratch = ByteBuffer()
        return Self.hash(event, sequence: sequence, scratch: &scratch)
    }

    /// The metadata as a store returns it through a query: the canonical form, `{}` for none.
    static func storedMetadata(_ metadata: String) -> String {
        if metadata.isEmpty { return "{}" }
        return JSONCanonicalForm.render(metadata) ?? metadata
    }
}

/// What a log keeps of each leaf besides the tree (docs/VERIFY.md, "Leaf records"): which event it
/// was and its hash, so that a verifier can say which event a bad leaf is, and so that the hash
/// outlives an event that retention removes.
public struct LeafRecord: Sendable, Hashable {
    public static let byteCount = 8 + 16 + TreeHash.byteCount

    public var sequence: Int64
    public var id: UUID
    public var hash: TreeHash

    public init(sequence: Int64, id: UUID, hash: TreeHash) {
        self.sequence = sequence
        self.id = id
        self.hash = hash
    }

    public func encode(into bytes: inout [UInt8]) {
        withUnsafeBytes(of: self.sequence.bigEndian) { bytes.append(contentsOf: $0) }
        withUnsafeBytes(of: self.id.uuid) { bytes.append(contentsOf: $0) }
        self.hash.withUnsafeBytes { bytes.append(contentsOf: $0) }
    }

    /// The records of one commit, as stored: each record's bytes in turn.
    public static func encode(_ records: [LeafRecord]) -> [UInt8] {
        var bytes: [UInt8] = []
        bytes.reserveCapacity(records.count * Self.byteCount)
        for record in records { record.encode(into: &bytes) }
        return bytes
    }

    /// Nil when the bytes are not whole records.
    public static func decode(_ bytes: [UInt8]) -> [LeafRecord]? {
        guard bytes.count % Self.byteCount == 0 else { return nil }
        return bytes.withUnsafeBytes { raw -> [LeafRecord] in
            var records: [LeafRecord] = []
            records.reserveCapacity(raw.count / Self.byteCount)
            var offset = 0
            while offset < raw.count {
                let sequence = Int64(bigEndian: raw.loadUnaligned(fromByteOffset: offset, as: Int64.self))
                var uuid: uuid_t = (0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0)
                withUnsafeMutableBytes(of: &uuid) { $0.copyMemory(from: UnsafeRawBufferPointer(rebasing: raw[offset + 8..<offset + 24])) }
                let hash = TreeHash(bytes: UnsafeRawBufferPointer(rebasing: raw[offset + 24..<offset + Self.byteCount]))!
                records.append(LeafRecord(sequence: sequence, id: UUID(uuid: uuid), hash: hash))
                offset += Self.byteCount
            }
            return records
        }
    }
}

/// A page of a log's leaf records from leaf `leaf` on, put together from its stored rows (one per
/// commit), starting with the row that holds `leaf`; each row must start where the last one ended.
public struct LeafRecordPage {
    public private(set) var records: [LeafRecord] = []
    private let leaf: UInt64
    private let logID: [UInt8]
    private var expected: UInt64?

    public init(from leaf: UInt64, logID: [UInt8]) {
        self.leaf = leaf
        self.logID = logID
    }

    /// Adds the row of records that starts at leaf `first`; nil bytes are a row that could not be read.
    public mutating func add(rowFrom first: UInt64, records bytes: [UInt8]?) throws {
        guard self.expected == nil || first == self.expected, let decoded = bytes.flatMap({ LeafRecord.decode($0) }), !decoded.isEmpty else {
            throw TreeError(
                .badStore,
                "the leaf records of log \(HexText.text(self.logID)) from leaf \(first) are damaged or out of step (expected a row from leaf \(self.expected ?? self.leaf))")
        }
        self.records.append(contentsOf: decoded.dropFirst(self.leaf > first ? Int(self.leaf - first) : 0))
        self.expected = first + UInt64(decoded.count)
    }
}
