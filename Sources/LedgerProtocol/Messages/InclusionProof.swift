import Foundation
import NIOCore

/// `inclusion_proof` (0x99): that one event is a leaf of a log's tree (RFC 9162, 2.1.3), with the
/// signed head whose root the path leads to, so it can be checked offline (docs/VERIFY.md, "Proofs").
public struct InclusionProof: Sendable, Hashable {
    public var head: SignedTreeHead
    public var eventID: UUID
    public var sequence: Int64
    public var leafIndex: UInt64
    public var leafHash: [UInt8]
    /// The audit path, lowest sibling first; 32 bytes each.
    public var path: [[UInt8]]

    public init(head: SignedTreeHead, eventID: UUID, sequence: Int64, leafIndex: UInt64, leafHash: [UInt8], path: [[UInt8]]) {
        self.head = head
        self.eventID = eventID
        self.sequence = sequence
        self.leafIndex = leafIndex
        self.leafHash = leafHash
        self.path = path
    }

    public func encode(into buffer: inout ByteBuffer) {
        self.head.encode(into: &buffer)
        buffer.ledgerWriteUUID(self.eventID)
        buffer.writeInteger(self.sequence)
        buffer.writeInteger(self.leafIndex)
        buffer.writeBytes(self.leafHash)
        buffer.writeInteger(UInt8(self.path.count))
        for hash in self.path { buffer.writeBytes(hash) }
    }

    public static func decode(from buffer: inout ByteBuffer) throws(LedgerProtocolError) -> InclusionProof {
        let head = try SignedTreeHead.decode(from: &buffer)
        let id = try buffer.ledgerReadUUID()
        let sequence = try buffer.ledgerReadInteger(as: Int64.self, field: "sequence")
        let index = try buffer.ledgerReadInteger(as: UInt64.self, field: "leaf index")
        guard let leaf = buffer.readBytes(length: 32) else { throw .malformed("inclusion_proof's leaf hash is cut short") }
        let count = try buffer.ledgerReadInteger(as: UInt8.self, field: "path length")
        var path: [[UInt8]] = []
        for _ in 0..<count {
            guard let hash = buffer.readBytes(length: 32) else { throw .malformed("inclusion_proof's path is cut short") }
            path.append(hash)
        }
        try buffer.ledgerExpectEnd(of: "inclusion_proof")
        return InclusionProof(head: head, eventID: id, sequence: sequence, leafIndex: index, leafHash: leaf, path: path)
    }
}
