import NIOCore

/// `tail` (0x93): the next committed events for a subscription, in commit order.
///
/// `missed` counts matching events left out since the previous batch because the
/// subscriber read too slowly; the daemon skips ahead rather than hold up its writers.
/// The first batch of a subscription is empty: it says the subscription is live.
///
/// `next` is where to resume after this batch (`subscribe.after`): the last event's commit
/// sequence, or, on the first batch of a tail without `after`, the newest commit at subscription,
/// so a client that saw no event yet still resumes with nothing skipped.
public struct TailBatch: Sendable, Hashable {
    public var missed: UInt64
    public var events: [LedgerEvent]
    public var next: TailCursor?

    public init(missed: UInt64 = 0, events: [LedgerEvent], next: TailCursor? = nil) {
        self.missed = missed
        self.events = events
        self.next = next
    }

    public func encode(into buffer: inout ByteBuffer) {
        buffer.writeInteger(self.missed)
        EventsResult.encode(self.events, into: &buffer) { buffer in buffer.ledgerWriteOptional(self.next) { $1.encode(into: &$0) } }
    }

    public static func decode(from buffer: inout ByteBuffer) throws(LedgerProtocolError) -> TailBatch {
        let missed = try buffer.ledgerReadInteger(as: UInt64.self, field: "missed")
        let (events, next) = try EventsResult.decode(from: &buffer) { (b: inout ByteBuffer) throws(LedgerProtocolError) in
            try b.ledgerReadOptional(field: "tail cursor") { (b: inout ByteBuffer) throws(LedgerProtocolError) in try TailCursor.decode(from: &b) }
        }
        return TailBatch(missed: missed, events: events, next: next)
    }
}
