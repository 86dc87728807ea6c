import NIOCore

/// `subscribe` (0x13): stream committed events that match a filter, in commit order, for as
/// long as the connection stays open. The connection carries nothing else afterwards.
public struct SubscribeRequest: Sendable, Hashable {
    public var filter: EventFilter

    public init(filter: EventFilter = EventFilter()) {
        self.filter = filter
    }

    public func encode(into buffer: inout ByteBuffer) {
        self.filter.encode(into: &buffer)
    }

    public static func decode(from buffer: inout ByteBuffer) throws(LedgerProtocolError) -> SubscribeRequest {
        let filter = try EventFilter.decode(from: &buffer)
        try buffer.ledgerExpectEnd(of: "subscribe")
        return SubscribeRequest(filter: filter)
    }
}
