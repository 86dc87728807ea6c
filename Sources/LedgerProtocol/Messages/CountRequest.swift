import NIOCore

/// `count` (0x11): how many events match a filter; ledger.py's error count and total.
public struct CountRequest: Sendable, Hashable {
    public var filter: EventFilter

    public init(filter: EventFilter = EventFilter()) {
        self.filter = filter
    }

    public func encode(into buffer: inout ByteBuffer) {
        self.filter.encode(into: &buffer)
    }

    public static func decode(from buffer: inout ByteBuffer) throws(LedgerProtocolError) -> CountRequest {
        let filter = try EventFilter.decode(from: &buffer)
        try buffer.ledgerExpectEnd(of: "count")
        return CountRequest(filter: filter)
    }
}
