import NIOCore

/// `ack` (0x82): the events of the request with this id are committed to the store.
public struct Ack: Sendable, Hashable {
    /// Events the request carried; 0 for `sync`. Duplicates of stored ids count too: they are durable.
    public var committed: UInt32

    public init(committed: UInt32) {
        self.committed = committed
    }

    public func encode(into buffer: inout ByteBuffer) {
        buffer.writeInteger(self.committed)
    }

    public static func decode(from buffer: inout ByteBuffer) throws(LedgerProtocolError) -> Ack {
        let committed = try buffer.ledgerReadInteger(as: UInt32.self, field: "committed")
        try buffer.ledgerExpectEnd(of: "ack")
        return Ack(committed: committed)
    }
}
