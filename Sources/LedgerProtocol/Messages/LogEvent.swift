import NIOCore

/// `log_event` (0x02): one fully specified event.
public struct LogEvent: Sendable, Hashable {
    public var flags: LogFlags
    public var event: LedgerEvent

    public init(event: LedgerEvent, acknowledged: Bool = false) {
        self.event = event
        self.flags = acknowledged ? .acknowledge : []
    }

    public func encode(into buffer: inout ByteBuffer) {
        buffer.writeInteger(self.flags.rawValue)
        self.event.encode(into: &buffer)
    }

    public static func decode(from buffer: inout ByteBuffer) throws(LedgerProtocolError) -> LogEvent {
        let flags = try LogFlags.decode(from: &buffer)
        let event = try LedgerEvent.decode(from: &buffer)
        try buffer.ledgerExpectEnd(of: "log_event")
        return LogEvent(event: event, acknowledged: flags.contains(.acknowledge))
    }
}
