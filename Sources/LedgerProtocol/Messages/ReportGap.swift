import Foundation
import NIOCore

/// `report_gap` (0x07): events a client dropped for one reason, told to the daemon when
/// the client next reaches it, so that a loss is silent to the caller but never to the operator.
///
/// The daemon answers with an ack once the gap is durable. It stores the gap as an event of
/// its own (`ledger_gap`, entity `ledger_client`/client name, severity warning, timestamped at
/// the first drop), so gaps are deduplicated by id, queried, counted and tailed like any event.
public struct ReportGap: Sendable, Hashable {
    /// Why the client dropped the events.
    public struct Reason: RawRepresentable, Hashable, Sendable, CustomStringConvertible {
        public var rawValue: UInt8

        public init(rawValue: UInt8) {
            self.rawValue = rawValue
        }

        /// The daemon could not be reached (no socket, refused, or the connection went down).
        public static let daemonUnreachable = Reason(rawValue: 1)
        /// The client's bounded buffer was full: the daemon was slower than the caller.
        public static let bufferFull = Reason(rawValue: 2)
        /// The daemon refused fire-and-forget requests; `events` counts refused requests, as a refused batch is refused whole.
        public static let rejected = Reason(rawValue: 3)

        public static let all: [Reason] = [.daemonUnreachable, .bufferFull, .rejected]

        /// The name stored in the gap record; nil for a code this build does not know.
        public var name: String? {
            switch self {
            case .daemonUnreachable: "daemon_unreachable"
            case .bufferFull: "buffer_full"
            case .rejected: "rejected"
            default: nil
            }
        }

        public var description: String { self.name ?? "reason_\(self.rawValue)" }
    }

    /// The event type of stored gap records; ordinary log requests may not use it.
    public static let eventType = "ledger_gap"
    /// The entity type of stored gap records; the entity id is the client's name.
    public static let entityType = "ledger_client"

    /// Chosen by the client, so a report retried after a lost ack is stored once.
    public var id: UUID
    /// The reporting client's name (its process name unless configured).
    public var client: String
    public var reason: Reason
    public var events: UInt64
    public var firstDropped: LedgerTimestamp
    public var lastDropped: LedgerTimestamp

    public init(id: UUID, client: String, reason: Reason, events: UInt64, firstDropped: LedgerTimestamp, lastDropped: LedgerTimestamp) {
        self.id = id
        self.client = client
        self.reason = reason
        self.events = events
        self.firstDropped = firstDropped
        self.lastDropped = lastDropped
    }

    /// The gap record as the ledger stores it; fails when the report does not describe a gap.
    public func event() throws(LedgerProtocolError) -> LedgerEvent {
        guard let reason = self.reason.name else {
            throw .invalidEvent("report_gap reason \(self.reason.rawValue) is not one this daemon knows")
        }
        guard self.events > 0 else { throw .invalidEvent("report_gap must report at least one dropped event") }
        if let problem = self.firstDropped.rangeProblem(field: "report_gap first_dropped")
            ?? self.lastDropped.rangeProblem(field: "report_gap last_dropped")
        {
            throw .invalidEvent(problem)
        }
        guard self.firstDropped <= self.lastDropped else {
            throw .invalidEvent("report_gap first_dropped (\(self.firstDropped)) is after last_dropped (\(self.lastDropped))")
        }
        guard !self.client.isEmpty else { throw .invalidEvent("report_gap needs a client name") }
        let metadata =
            "{\"client\":\(JSONText.quote(self.client)),\"reason\":\"\(reason)\",\"events\":\(self.events),"
            + "\"first_dropped_at\":\"\(self.firstDropped.iso8601)\",\"last_dropped_at\":\"\(self.lastDropped.iso8601)\"}"
        return LedgerEvent(
            id: self.id, timestamp: self.firstDropped, eventType: Self.eventType, entityType: Self.entityType,
            entityID: self.client, metadata: metadata, severity: .warn)
    }

    public func encode(into buffer: inout ByteBuffer) {
        buffer.ledgerWriteUUID(self.id)
        buffer.ledgerWriteString16(self.client)
        buffer.writeInteger(self.reason.rawValue)
        buffer.writeInteger(self.events)
        buffer.ledgerWriteTimestamp(self.firstDropped)
        buffer.ledgerWriteTimestamp(self.lastDropped)
    }

    public static func decode(from buffer: inout ByteBuffer) throws(LedgerProtocolError) -> ReportGap {
        let id = try buffer.ledgerReadUUID()
        let client = try buffer.ledgerReadString16(field: "client")
        let reason = Reason(rawValue: try buffer.ledgerReadInteger(as: UInt8.self, field: "reason"))
        let events = try buffer.ledgerReadInteger(as: UInt64.self, field: "events")
        let firstDropped = try buffer.ledgerReadTimestamp(field: "first_dropped")
        let lastDropped = try buffer.ledgerReadTimestamp(field: "last_dropped")
        try buffer.ledgerExpectEnd(of: "report_gap")
        return ReportGap(id: id, client: client, reason: reason, events: events, firstDropped: firstDropped, lastDropped: lastDropped)
    }
}
