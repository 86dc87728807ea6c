import Foundation
import NIOCore

/// `prove` (0x1A): asks for the inclusion proof of one event in the daemon's log, against the
/// signed head of `treeSize` leaves, or the newest head when it is 0.
public struct ProveRequest: Sendable, Hashable {
    public var eventID: UUID
    public var treeSize: UInt64

    public init(eventID: UUID, treeSize: UInt64 = 0) {
        self.eventID = eventID
        self.treeSize = treeSize
    }

    public func encode(into buffer: inout ByteBuffer) {
        buffer.ledgerWriteUUID(self.eventID)
        buffer.writeInteger(self.treeSize)
    }

    public static func decode(from buffer: inout ByteBuffer) throws(LedgerProtocolError) -> ProveRequest {
        let id = try buffer.ledgerReadUUID()
        let size = try buffer.ledgerReadInteger(as: UInt64.self, field: "tree size")
        try buffer.ledgerExpectEnd(of: "prove")
        return ProveRequest(eventID: id, treeSize: size)
    }
}
