import Foundation
import NIOCore

/// The one filter behind every query: each field present narrows the result, absent fields match all.
public struct EventFilter: Sendable, Hashable {
    public var eventType: String?
    public var entityType: String?
    public var entityID: String?
    public var jobID: UUID?
    public var clipID: UUID?
    /// The severities admitted; nil admits all.
    public var severities: SeveritySet?
    public var workerID: String?
    /// Inclusive lower bound on the event's timestamp.
    public var since: LedgerTimestamp?
    /// Exclusive upper bound on the event's timestamp.
    public var until: LedgerTimestamp?

    public init(
        eventType: String? = nil, entityType: String? = nil, entityID: String? = nil, jobID: UUID? = nil,
        clipID: UUID? = nil, severity: Severity? = nil, severities: SeveritySet? = nil, workerID: String? = nil,
        since: LedgerTimestamp? = nil, until: LedgerTimestamp? = nil
    ) {
        self.eventType = eventType
        self.entityType = entityType
        self.entityID = entityID
        self.jobID = jobID
        self.clipID = clipID
        self.severities = severities ?? severity.map(SeveritySet.init)
        self.workerID = workerID
        self.since = since
        self.until = until
    }

    /// An entity id only makes sense within an entity type; refusing it alone avoids a silent full scan.
    public func validate() throws(LedgerProtocolError) {
        if self.entityID != nil, self.entityType == nil {
            throw .invalidQuery("entity_id needs entity_type")
        }
        if let severities = self.severities, severities.isEmpty {
            throw .invalidQuery("the severity set is empty, so nothing could match")
        }
        if let problem = self.since?.rangeProblem(field: "since") ?? self.until?.rangeProblem(field: "until") {
            throw .invalidQuery(problem)
        }
        if let since = self.since, let until = self.until, until < since {
            throw .invalidQuery("until (\(until)) is before since (\(since))")
        }
    }

    public func encode(into buffer: inout ByteBuffer) {
        buffer.ledgerWriteOptional(self.eventType) { $0.ledgerWriteString16($1) }
        buffer.ledgerWriteOptional(self.entityType) { $0.ledgerWriteString16($1) }
        buffer.ledgerWriteOptional(self.entityID) { $0.ledgerWriteString16($1) }
        buffer.ledgerWriteOptional(self.jobID) { $0.ledgerWriteUUID($1) }
        buffer.ledgerWriteOptional(self.clipID) { $0.ledgerWriteUUID($1) }
        buffer.ledgerWriteOptional(self.severities) { $0.writeInteger($1.wireValue) }
        buffer.ledgerWriteOptional(self.workerID) { $0.ledgerWriteString16($1) }
        buffer.ledgerWriteOptional(self.since) { $0.ledgerWriteTimestamp($1) }
        buffer.ledgerWriteOptional(self.until) { $0.ledgerWriteTimestamp($1) }
    }

    public static func decode(from buffer: inout ByteBuffer) throws(LedgerProtocolError) -> EventFilter {
        func string(_ field: String) throws(LedgerProtocolError) -> String? {
            do {
                return try buffer.ledgerReadOptional(field: field) { (b: inout ByteBuffer) throws(LedgerProtocolError) in
                    try b.ledgerReadString16(field: field)
                }
            } catch where error.code == .invalidEvent {
                // A filter is not an event: its bad text is a bad query, counted as a protocol error.
                throw .invalidQuery(error.message)
            }
        }
        func uuid(_ field: String) throws(LedgerProtocolError) -> UUID? {
            try buffer.ledgerReadOptional(field: field) { (b: inout ByteBuffer) throws(LedgerProtocolError) in
                try b.ledgerReadUUID()
            }
        }
        func timestamp(_ field: String) throws(LedgerProtocolError) -> LedgerTimestamp? {
            try buffer.ledgerReadOptional(field: field) { (b: inout ByteBuffer) throws(LedgerProtocolError) in
                try b.ledgerReadTimestamp(field: field)
            }
        }
        let eventType = try string("event_type")
        let entityType = try string("entity_type")
        let entityID = try string("entity_id")
        let jobID = try uuid("job_id")
        let clipID = try uuid("clip_id")
        let severities = try buffer.ledgerReadOptional(field: "severity") { (b: inout ByteBuffer) throws(LedgerProtocolError) in
            try SeveritySet(wireValue: try b.ledgerReadInteger(as: UInt8.self, field: "severity"))
        }
        let workerID = try string("worker_id")
        let since = try timestamp("since")
        let until = try timestamp("until")
        return EventFilter(
            eventType: eventType, entityType: entityType, entityID: entityID, jobID: jobID, clipID: clipID,
            severities: severities, workerID: workerID, since: since, until: until
        )
    }

    /// Whether an event passes the filter, as the stores' WHERE clause would decide; used for live tails.
    public func matches(_ event: LedgerEvent) -> Bool {
        if let eventType = self.eventType, event.eventType != eventType { return false }
        if let entityType = self.entityType, event.entityType != entityType { return false }
        if let entityID = self.entityID, event.entityID != entityID { return false }
        if let jobID = self.jobID, event.jobID != jobID { return false }
        if let clipID = self.clipID, event.clipID != clipID { return false }
        if let severities = self.severities, !severities.contains(event.severity) { return false }
        if let workerID = self.workerID, event.workerID != workerID { return false }
        if let since = self.since, let timestamp = event.timestamp, timestamp < since { return false }
        if let until = self.until, let timestamp = event.timestamp, timestamp >= until { return false }
        return true
    }
}
