import NIOCore

/// `query` (0x10): filter + order + limit + cursor, the shape of every read the Python ledger (ledger.py) made.
public struct QueryRequest: Sendable, Hashable {
    public enum Order: UInt8, Sendable, Hashable {
        case newestFirst = 0
        case oldestFirst = 1
    }

    public var filter: EventFilter
    public var order: Order
    public var limit: UInt32
    /// Resume strictly after this position (in `order`).
    public var after: EventCursor?

    public init(filter: EventFilter = EventFilter(), order: Order = .newestFirst, limit: UInt32 = 50, after: EventCursor? = nil) {
        self.filter = filter
        self.order = order
        self.limit = limit
        self.after = after
    }

    public func validate(maximumLimit: UInt32) throws(LedgerProtocolError) {
        try self.filter.validate()
        // The daemon makes cursors, but a peer can send any bytes as one.
        if let problem = self.after?.timestamp.rangeProblem(field: "the cursor's timestamp") { throw .invalidQuery(problem) }
        guard self.limit >= 1, self.limit <= maximumLimit else {
            throw .invalidQuery("limit \(self.limit) is outside 1...\(maximumLimit)")
        }
    }

    public func encode(into buffer: inout ByteBuffer) {
        self.filter.encode(into: &buffer)
        buffer.writeInteger(self.order.rawValue)
        buffer.writeInteger(self.limit)
        buffer.ledgerWriteOptional(self.after) { $1.encode(into: &$0) }
    }

    public static func decode(from buffer: inout ByteBuffer) throws(LedgerProtocolError) -> QueryRequest {
        let filter = try EventFilter.decode(from: &buffer)
        let rawOrder = try buffer.ledgerReadInteger(as: UInt8.self, field: "order")
        guard let order = Order(rawValue: rawOrder) else {
            throw .invalidQuery("order is \(rawOrder), expected 0 (newest first) or 1 (oldest first)")
        }
        let limit = try buffer.ledgerReadInteger(as: UInt32.self, field: "limit")
        let after = try buffer.ledgerReadOptional(field: "cursor") { (b: inout ByteBuffer) throws(LedgerProtocolError) in
            try EventCursor.decode(from: &b)
        }
        try buffer.ledgerExpectEnd(of: "query")
        return QueryRequest(filter: filter, order: order, limit: limit, after: after)
    }
}
