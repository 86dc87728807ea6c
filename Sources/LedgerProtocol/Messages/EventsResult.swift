import NIOCore

/// `events` (0x90): one page of a query, with the cursor to fetch the next, then what the
/// daemon knows of each event beyond what clients send: its sender and its commit sequence.
public struct EventsResult: Sendable, Hashable {
    public var events: [LedgerEvent]
    /// Present when the page is full, so there may be more.
    public var next: EventCursor?

    public init(events: [LedgerEvent], next: EventCursor?) {
        self.events = events
        self.next = next
    }

    /// The longest prefix of this page whose encoding fits in `maximumBytes` (never fewer than one
    /// event), with the cursor moved to its last event so the client pages on from there.
    ///
    /// Events carry up to 64 KiB of metadata each, so a page's size is bounded by bytes as well as count.
    public func truncated(toEncodedBytes maximumBytes: Int) -> EventsResult {
        var scratch = ByteBuffer()
        var used = 4 + 1 + 2 + EventCursor.encodedLength
        for (index, event) in self.events.enumerated() {
            scratch.clear()
            event.encode(into: &scratch)
            used += scratch.readableBytes + 9 + 9
            if used > maximumBytes, index > 0 {
                let kept = Array(self.events[..<index])
                let last = kept[kept.count - 1]
                return EventsResult(events: kept, next: EventCursor(timestamp: last.timestamp ?? LedgerTimestamp(rawValue: 0), id: last.id))
            }
        }
        return self
    }

    public func encode(into buffer: inout ByteBuffer) {
        buffer.writeInteger(UInt32(self.events.count))
        for event in self.events {
            event.encode(into: &buffer)
        }
        buffer.ledgerWriteOptional(self.next) { $1.encode(into: &$0) }
        for event in self.events {
            buffer.ledgerWriteOptional(event.peer) { $1.encode(into: &$0) }
            buffer.ledgerWriteOptional(event.sequence) { $0.writeInteger($1) }
        }
    }

    public static func decode(from buffer: inout ByteBuffer) throws(LedgerProtocolError) -> EventsResult {
        let count = try buffer.ledgerReadInteger(as: UInt32.self, field: "event count")
        var events: [LedgerEvent] = []
        events.reserveCapacity(min(Int(count), buffer.readableBytes / 37))
        for _ in 0..<count {
            events.append(try LedgerEvent.decode(from: &buffer))
        }
        let next = try buffer.ledgerReadOptional(field: "cursor") { (b: inout ByteBuffer) throws(LedgerProtocolError) in
            try EventCursor.decode(from: &b)
        }
        for index in events.indices {
            events[index].peer = try buffer.ledgerReadOptional(field: "peer credentials") { (b: inout ByteBuffer) throws(LedgerProtocolError) in
                try PeerCredentials.decode(from: &b)
            }
            events[index].sequence = try buffer.ledgerReadOptional(field: "sequence") { (b: inout ByteBuffer) throws(LedgerProtocolError) in
                try b.ledgerReadInteger(as: Int64.self, field: "sequence")
            }
        }
        try buffer.ledgerExpectEnd(of: "events")
        return EventsResult(events: events, next: next)
    }
}
