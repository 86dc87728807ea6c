import NIOCore

/// `subscribe` (0x13): stream committed events that match a filter, in commit order, for as
/// long as the connection stays open. The connection carries nothing else afterwards.
public struct SubscribeRequest: Sendable, Hashable {
    public var filter: EventFilter
    /// Resume after this point: first the stored events committed after it, then live ones.
    public var after: TailCursor?

    public init(filter: EventFilter = EventFilter(), after: TailCursor? = nil) {
        self.filter = filter
        self.after = after
    }

    public func encode(into buffer: inout ByteBuffer) {
        self.filter.encode(into: &buffer)
        buffer.ledgerWriteOptional(self.after) { $1.encode(into: &$0) }
    }

    public static func decode(from buffer: inout ByteBuffer) throws(LedgerProtocolError) -> SubscribeRequest {
        let filter = try EventFilter.decode(from: &buffer)
        let after = try buffer.ledgerReadOptional(field: "tail cursor") { (b: inout ByteBuffer) throws(LedgerProtocolError) in
            try TailCursor.decode(from: &b)
        }
        try buffer.ledgerExpectEnd(of: "subscribe")
        return SubscribeRequest(filter: filter, after: after)
    }
}
