import NIOCore

/// `log_batch` (0x05): many events in one frame, accepted or rejected as a whole.
public struct LogBatch: Sendable, Hashable {
    /// The largest count the u16 field can carry; the daemon may set a lower limit.
    public static let maximumCount = Int(UInt16.max)

    public var flags: LogFlags
    public var events: [LedgerEvent]

    public init(events: [LedgerEvent], acknowledged: Bool = false) {
        self.events = events
        self.flags = acknowledged ? .acknowledge : []
    }

    public func encode(into buffer: inout ByteBuffer) {
        buffer.writeInteger(self.flags.rawValue)
        buffer.writeInteger(UInt16(self.events.count))
        for event in self.events {
            event.encode(into: &buffer)
        }
    }

    public static func decode(from buffer: inout ByteBuffer) throws(LedgerProtocolError) -> LogBatch {
        let flags = try LogFlags.decode(from: &buffer)
        let count = try buffer.ledgerReadInteger(as: UInt16.self, field: "event count")
        guard count > 0 else { throw .invalidEvent("log_batch holds no events") }
        var events: [LedgerEvent] = []
        // Each event takes at least 37 bytes, so a lying count cannot make us reserve much.
        events.reserveCapacity(min(Int(count), buffer.readableBytes / 37))
        for index in 0..<Int(count) {
            do {
                events.append(try LedgerEvent.decode(from: &buffer))
            } catch {
                throw LedgerProtocolError(
                    code: error.code, message: "event \(index): \(error.message)",
                    closesConnection: error.closesConnection)
            }
        }
        try buffer.ledgerExpectEnd(of: "log_batch")
        return LogBatch(events: events, acknowledged: flags.contains(.acknowledge))
    }
}
