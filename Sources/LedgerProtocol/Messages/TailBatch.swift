import NIOCore

/// `tail` (0x93): the next committed events for a subscription, in commit order.
///
/// `missed` counts matching events left out since the previous batch because the
/// subscriber read too slowly; the daemon skips ahead rather than hold up its writers.
/// The first batch of a subscription is empty: it says the subscription is live.
public struct TailBatch: Sendable, Hashable {
    public var missed: UInt64
    public var events: [LedgerEvent]

    public init(missed: UInt64 = 0, events: [LedgerEvent]) {
        self.missed = missed
        self.events = events
    }

    public func encode(into buffer: inout ByteBuffer) {
        buffer.writeInteger(self.missed)
        EventsResult(events: self.events, next: nil).encode(into: &buffer)
    }

    public static func decode(from buffer: inout ByteBuffer) throws(LedgerProtocolError) -> TailBatch {
        let missed = try buffer.ledgerReadInteger(as: UInt64.self, field: "missed")
        let page = try EventsResult.decode(from: &buffer)
        return TailBatch(missed: missed, events: page.events)
    }
}
