import Foundation
import NIOCore

/// `log_clip_event` (0x04): ledger.py's `log_clip_event`, an event about one clip,
/// optionally tied to the job that produced it.
public struct LogClipEvent: Sendable, Hashable {
    public var flags: LogFlags
    public var id: UUID
    public var timestamp: LedgerTimestamp?
    public var clipID: UUID
    public var eventType: String
    public var severity: Severity
    public var workerID: String?
    public var jobID: UUID?
    public var metadata: String

    public init(
        id: UUID, timestamp: LedgerTimestamp? = nil, clipID: UUID, eventType: String, severity: Severity = .info,
        workerID: String? = nil, jobID: UUID? = nil, metadata: String = "{}", acknowledged: Bool = false
    ) {
        self.flags = acknowledged ? .acknowledge : []
        self.id = id
        self.timestamp = timestamp
        self.clipID = clipID
        self.eventType = eventType
        self.severity = severity
        self.workerID = workerID
        self.jobID = jobID
        self.metadata = metadata
    }

    /// The row this message stands for; fails when the clip id is the nil UUID.
    public func event() throws(LedgerProtocolError) -> LedgerEvent {
        guard self.clipID != LedgerEvent.unassignedID else { throw .invalidEvent("log_clip_event needs a clip_id") }
        return LedgerEvent(
            id: self.id, timestamp: self.timestamp, eventType: self.eventType, entityType: "clip",
            entityID: self.clipID.lowercaseText, metadata: self.metadata, severity: self.severity,
            workerID: self.workerID, jobID: self.jobID, clipID: self.clipID
        )
    }

    public func encode(into buffer: inout ByteBuffer) {
        buffer.writeInteger(self.flags.rawValue)
        buffer.ledgerWriteUUID(self.id)
        buffer.ledgerWriteOptional(self.timestamp) { $0.ledgerWriteTimestamp($1) }
        buffer.ledgerWriteUUID(self.clipID)
        buffer.ledgerWriteString16(self.eventType)
        buffer.writeInteger(self.severity.rawValue)
        buffer.ledgerWriteOptional(self.workerID) { $0.ledgerWriteString16($1) }
        buffer.ledgerWriteOptional(self.jobID) { $0.ledgerWriteUUID($1) }
        buffer.ledgerWriteString32(self.metadata)
    }

    public static func decode(from buffer: inout ByteBuffer) throws(LedgerProtocolError) -> LogClipEvent {
        let flags = try LogFlags.decode(from: &buffer)
        let id = try buffer.ledgerReadUUID()
        let timestamp = try buffer.ledgerReadOptional(field: "timestamp") { (b: inout ByteBuffer) throws(LedgerProtocolError) in
            try b.ledgerReadTimestamp(field: "timestamp")
        }
        let clipID = try buffer.ledgerReadUUID()
        let eventType = try buffer.ledgerReadString16(field: "event_type")
        let severity = try buffer.ledgerReadSeverity()
        let workerID = try buffer.ledgerReadOptional(field: "worker_id") { (b: inout ByteBuffer) throws(LedgerProtocolError) in
            try b.ledgerReadString16(field: "worker_id")
        }
        let jobID = try buffer.ledgerReadOptional(field: "job_id") { (b: inout ByteBuffer) throws(LedgerProtocolError) in
            try b.ledgerReadUUID()
        }
        let metadata = try buffer.ledgerReadString32(field: "metadata")
        try buffer.ledgerExpectEnd(of: "log_clip_event")
        return LogClipEvent(
            id: id, timestamp: timestamp, clipID: clipID, eventType: eventType, severity: severity, workerID: workerID,
            jobID: jobID, metadata: metadata, acknowledged: flags.contains(.acknowledge)
        )
    }
}
