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

    /// A page from rows read with one more than `limit`: a cursor only when that extra row shows
    /// there is a next page, so a page of exactly `limit` events with nothing after it ends the listing.
    public init(rows: [LedgerEvent], limit: UInt32) {
        guard rows.count > Int(limit) else {
            self.init(events: rows, next: nil)
            return
        }
        let page = Array(rows.prefix(Int(limit)))
        self.init(events: page, next: page.last.flatMap { event in event.timestamp.map { EventCursor(timestamp: $0, id: event.id) } })
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
        Self.encode(self.events, into: &buffer) { buffer in buffer.ledgerWriteOptional(self.next) { $1.encode(into: &$0) } }
    }

    /// The layout `events` and `tail` share: the events, the cursor slot (written by `cursor`), then
    /// each event's sender and commit sequence.
    static func encode(_ events: [LedgerEvent], into buffer: inout ByteBuffer, cursor: (inout ByteBuffer) -> Void) {
        buffer.writeInteger(UInt32(events.count))
        for event in events {
            event.encode(into: &buffer)
        }
        cursor(&buffer)
        for event in events {
            buffer.ledgerWriteOptional(event.peer) { $1.encode(into: &$0) }
            buffer.ledgerWriteOptional(event.sequence) { $0.writeInteger($1) }
        }
    }

    public static func decode(from buffer: inout ByteBuffer) throws(LedgerProtocolError) -> EventsResult {
        let (events, next) = try Self.decode(from: &buffer) { (b: inout ByteBuffer) throws(LedgerProtocolError) in
            try b.ledgerReadOptional(field: "cursor") { (b: inout ByteBuffer) throws(LedgerProtocolError) in try EventCursor.decode(from: &b) }
        }
        return EventsResult(events: events, next: next)
    }

    static func decode<Cursor>(
        from buffer: inout ByteBuffer, cursor: (inout ByteBuffer) throws(LedgerProtocolError) -> Cursor
    ) throws(LedgerProtocolError) -> ([LedgerEvent], Cursor) {
        let count = try buffer.ledgerReadInteger(as: UInt32.self, field: "event count")
        var events: [LedgerEvent] = []
        events.reserveCapacity(min(Int(count), buffer.readableBytes / 37))
        for _ in 0..<count {
            events.append(try LedgerEvent.decode(from: &buffer))
        }
        let next = try cursor(&buffer)
        for index in events.indices {
            events[index].peer = try buffer.ledgerReadOptional(field: "peer credentials") { (b: inout ByteBuffer) throws(LedgerProtocolError) in
                try PeerCredentials.decode(from: &b)
            }
            events[index].sequence = try buffer.ledgerReadOptional(field: "sequence") { (b: inout ByteBuffer) throws(LedgerProtocolError) in
                try b.ledgerReadInteger(as: Int64.self, field: "sequence")
            }
        }
        try buffer.ledgerExpectEnd(of: "events")
        return (events, next)
    }
}
