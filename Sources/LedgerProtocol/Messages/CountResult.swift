import NIOCore

/// `count_result` (0x91).
public struct CountResult: Sendable, Hashable {
    public var count: UInt64

    public init(count: UInt64) {
        self.count = count
    }

    public func encode(into buffer: inout ByteBuffer) {
        buffer.writeInteger(self.count)
    }

    public static func decode(from buffer: inout ByteBuffer) throws(LedgerProtocolError) -> CountResult {
        let count = try buffer.ledgerReadInteger(as: UInt64.self, field: "count")
        try buffer.ledgerExpectEnd(of: "count_result")
        return CountResult(count: count)
    }
}
