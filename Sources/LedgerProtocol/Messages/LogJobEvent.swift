import Foundation
import NIOCore

/// `log_job_event` (0x03): ledger.py's `log_job_event`, an event about one job.
///
/// The daemon stores it with entity_type `job`, entity_id the job id in
/// lowercase canonical form, and job_id set.
public struct LogJobEvent: Sendable, Hashable {
    public var flags: LogFlags
    public var id: UUID
    public var timestamp: LedgerTimestamp?
    public var jobID: UUID
    public var eventType: String
    public var severity: Severity
    public var workerID: String?
    public var clipID: UUID?
    public var metadata: String

    public init(
        id: UUID, timestamp: LedgerTimestamp? = nil, jobID: UUID, eventType: String, severity: Severity = .info,
        workerID: String? = nil, clipID: UUID? = nil, metadata: String = "{}", acknowledged: Bool = false
    ) {
        self.flags = acknowledged ? .acknowledge : []
        self.id = id
        self.timestamp = timestamp
        self.jobID = jobID
        self.eventType = eventType
        self.severity = severity
        self.workerID = workerID
        self.clipID = clipID
        self.metadata = metadata
    }

    /// The row this message stands for; fails when the job id is the nil UUID.
    public func event() throws(LedgerProtocolError) -> LedgerEvent {
        guard self.jobID != LedgerEvent.unassignedID else { throw .invalidEvent("log_job_event needs a job_id") }
        return LedgerEvent(
            id: self.id, timestamp: self.timestamp, eventType: self.eventType, entityType: "job",
            entityID: self.jobID.lowercaseText, metadata: self.metadata, severity: self.severity,
            workerID: self.workerID, jobID: self.jobID, clipID: self.clipID
        )
    }

    public func encode(into buffer: inout ByteBuffer) {
        buffer.writeInteger(self.flags.rawValue)
        buffer.ledgerWriteUUID(self.id)
        buffer.ledgerWriteOptional(self.timestamp) { $0.ledgerWriteTimestamp($1) }
        buffer.ledgerWriteUUID(self.jobID)
        buffer.ledgerWriteString16(self.eventType)
        buffer.writeInteger(self.severity.rawValue)
        buffer.ledgerWriteOptional(self.workerID) { $0.ledgerWriteString16($1) }
        buffer.ledgerWriteOptional(self.clipID) { $0.ledgerWriteUUID($1) }
        buffer.ledgerWriteString32(self.metadata)
    }

    public static func decode(from buffer: inout ByteBuffer) throws(LedgerProtocolError) -> LogJobEvent {
        let flags = try LogFlags.decode(from: &buffer)
        let id = try buffer.ledgerReadUUID()
        let timestamp = try buffer.ledgerReadOptional(field: "timestamp") { (b: inout ByteBuffer) throws(LedgerProtocolError) in
            try b.ledgerReadTimestamp(field: "timestamp")
        }
        let jobID = try buffer.ledgerReadUUID()
        let eventType = try buffer.ledgerReadString16(field: "event_type")
        let severity = try buffer.ledgerReadSeverity()
        let workerID = try buffer.ledgerReadOptional(field: "worker_id") { (b: inout ByteBuffer) throws(LedgerProtocolError) in
            try b.ledgerReadString16(field: "worker_id")
        }
        let clipID = try buffer.ledgerReadOptional(field: "clip_id") { (b: inout ByteBuffer) throws(LedgerProtocolError) in
            try b.ledgerReadUUID()
        }
        let metadata = try buffer.ledgerReadString32(field: "metadata")
        try buffer.ledgerExpectEnd(of: "log_job_event")
        return LogJobEvent(
            id: id, timestamp: timestamp, jobID: jobID, eventType: eventType, severity: severity, workerID: workerID,
            clipID: clipID, metadata: metadata, acknowledged: flags.contains(.acknowledge)
        )
    }
}
