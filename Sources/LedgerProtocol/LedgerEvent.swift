import Foundation
import NIOCore

/// One audited step of the orchestrator: the row the ledger stores.
public struct LedgerEvent: Sendable, Hashable {
    /// Client-assigned, time-ordered (UUIDv7); the primary key, so a retried event is stored once.
    /// The nil UUID asks the daemon to assign one.
    public var id: UUID
    /// When it happened; nil asks the daemon to fill in its arrival time.
    public var timestamp: LedgerTimestamp?
    public var eventType: String
    public var entityType: String
    public var entityID: String
    /// A JSON object, as text. The empty string stands for `{}`.
    public var metadata: String
    public var severity: Severity
    public var workerID: String?
    public var jobID: UUID?
    public var clipID: UUID?
    /// Set by the daemon from the connection, never taken from the client; returned by queries.
    public var peer: PeerCredentials?
    /// The store's commit sequence number, assigned when the event is stored; what tails resume by.
    public var sequence: Int64?

    public init(
        id: UUID,
        timestamp: LedgerTimestamp? = nil,
        eventType: String,
        entityType: String,
        entityID: String,
        metadata: String = "{}",
        severity: Severity = .info,
        workerID: String? = nil,
        jobID: UUID? = nil,
        clipID: UUID? = nil,
        peer: PeerCredentials? = nil,
        sequence: Int64? = nil
    ) {
        self.id = id
        self.timestamp = timestamp
        self.eventType = eventType
        self.entityType = entityType
        self.entityID = entityID
        self.metadata = metadata
        self.severity = severity
        self.workerID = workerID
        self.jobID = jobID
        self.clipID = clipID
        self.peer = peer
        self.sequence = sequence
    }

    /// Where a tail that delivered this event resumes from.
    public var tailCursor: TailCursor? {
        self.sequence.map(TailCursor.init(sequence:))
    }

    /// The nil UUID, which on the wire means "let the daemon assign an id".
    public static let unassignedID = UUID(uuid: (0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0))
}

extension LedgerEvent {
    /// The field limits of the Python ledger's `ledger_events` table, enforced before anything is stored.
    public enum Limits {
        public static let eventType = 100
        public static let entityType = 50
        public static let entityID = 255
        public static let workerID = 100
        /// Metadata is bounded by the frame size; this keeps one event from filling a batch.
        public static let metadata = 64 * 1024
    }

    /// Checks the event against the table's rules; the error names the first field that is wrong.
    public func validate() throws(LedgerProtocolError) {
        if let problem = self.timestamp?.rangeProblem(field: "timestamp") { throw .invalidEvent(problem) }
        try Self.check(self.eventType, "event_type", max: Limits.eventType)
        try Self.check(self.entityType, "entity_type", max: Limits.entityType)
        try Self.check(self.entityID, "entity_id", max: Limits.entityID)
        if let workerID = self.workerID {
            try Self.check(workerID, "worker_id", max: Limits.workerID)
        }
        if self.metadata.utf8.count > Limits.metadata {
            throw .invalidEvent("metadata is \(self.metadata.utf8.count) bytes, the limit is \(Limits.metadata)")
        }
        if !self.metadata.isEmpty {
            if let problem = JSONObjectValidator.problem(in: self.metadata, maximumPlainBytes: Limits.metadata) {
                throw .invalidEvent("metadata must be a JSON object: \(problem)")
            }
        }
    }

    private static func check(_ value: String, _ field: String, max: Int) throws(LedgerProtocolError) {
        let count = value.utf8.count
        if count == 0 {
            throw .invalidEvent("\(field) is empty")
        }
        if count > max {
            throw .invalidEvent("\(field) is \(count) bytes, the limit is \(max)")
        }
        let hasControl = value.utf8.withContiguousStorageIfAvailable { $0.contains { $0 < 0x20 } } ?? value.utf8.contains { $0 < 0x20 }
        if hasControl {
            throw .invalidEvent("\(field) contains a control character")
        }
        // An identifier is shown in tables and logs: none of it may steer a terminal or reorder what is shown.
        let isASCII = value.utf8.withContiguousStorageIfAvailable { $0.allSatisfy { $0 < 0x7F } } ?? value.utf8.allSatisfy { $0 < 0x7F }
        if !isASCII, let scalar = value.unicodeScalars.first(where: JSONText.isUnsafeForTerminals) {
            let hex = String(scalar.value, radix: 16, uppercase: true)
            throw .invalidEvent("\(field) contains U+\(String(repeating: "0", count: Swift.max(0, 4 - hex.count)) + hex), a control or bidirectional character")
        }
    }
}

extension LedgerEvent {
    /// The event layout shared by log_event, log_batch and query results (PROTOCOL.md "Event").
    ///
    /// Its exact length is reserved once and filled in place: written field by field, an event
    /// would cost some sixteen ByteBuffer writes, each with its own checks.
    public func encode(into buffer: inout ByteBuffer) {
        // A string longer than a u16 count allows is cut, as ByteBuffer.ledgerWriteString16 does.
        let shortLimit = Int(UInt16.max)
        let eventTypeCount = min(self.eventType.utf8.count, shortLimit)
        let entityTypeCount = min(self.entityType.utf8.count, shortLimit)
        let entityIDCount = min(self.entityID.utf8.count, shortLimit)
        let workerIDCount = self.workerID.map { min($0.utf8.count, shortLimit) }
        let metadataCount = self.metadata.utf8.count
        // The id and the timestamp's presence byte; three counted strings; the severity; the presence
        // bytes of worker, job and clip; the counted metadata. Then what is present.
        var length = 16 + 1 + (2 + eventTypeCount) + (2 + entityTypeCount) + (2 + entityIDCount) + 1 + 3 + (4 + metadataCount)
        if self.timestamp != nil { length += 8 }
        if let workerIDCount { length += 2 + workerIDCount }
        if self.jobID != nil { length += 16 }
        if self.clipID != nil { length += 16 }
        buffer.writeWithUnsafeMutableBytes(minimumWritableBytes: length) { bytes in
            var fields = ReservedFieldWriter(bytes)
            fields.uuid(self.id)
            if let timestamp = self.timestamp {
                fields.integer(UInt8(1))
                fields.integer(timestamp.rawValue)
            } else {
                fields.integer(UInt8(0))
            }
            fields.integer(UInt16(eventTypeCount))
            fields.utf8(self.eventType, count: eventTypeCount)
            fields.integer(UInt16(entityTypeCount))
            fields.utf8(self.entityType, count: entityTypeCount)
            fields.integer(UInt16(entityIDCount))
            fields.utf8(self.entityID, count: entityIDCount)
            fields.integer(self.severity.rawValue)
            if let workerID = self.workerID, let workerIDCount {
                fields.integer(UInt8(1))
                fields.integer(UInt16(workerIDCount))
                fields.utf8(workerID, count: workerIDCount)
            } else {
                fields.integer(UInt8(0))
            }
            fields.optionalUUID(self.jobID)
            fields.optionalUUID(self.clipID)
            fields.integer(UInt32(metadataCount))
            fields.utf8(self.metadata, count: metadataCount)
            return fields.written
        }
    }

    public static func decode(from buffer: inout ByteBuffer) throws(LedgerProtocolError) -> LedgerEvent {
        let id = try buffer.ledgerReadUUID()
        let timestamp = try buffer.ledgerReadOptional(field: "timestamp") { (b: inout ByteBuffer) throws(LedgerProtocolError) in
            try b.ledgerReadTimestamp(field: "timestamp")
        }
        let eventType = try buffer.ledgerReadString16(field: "event_type")
        let entityType = try buffer.ledgerReadString16(field: "entity_type")
        let entityID = try buffer.ledgerReadString16(field: "entity_id")
        let severity = try buffer.ledgerReadSeverity()
        let workerID = try buffer.ledgerReadOptional(field: "worker_id") { (b: inout ByteBuffer) throws(LedgerProtocolError) in
            try b.ledgerReadString16(field: "worker_id")
        }
        let jobID = try buffer.ledgerReadOptional(field: "job_id") { (b: inout ByteBuffer) throws(LedgerProtocolError) in
            try b.ledgerReadUUID()
        }
        let clipID = try buffer.ledgerReadOptional(field: "clip_id") { (b: inout ByteBuffer) throws(LedgerProtocolError) in
            try b.ledgerReadUUID()
        }
        let metadata = try buffer.ledgerReadString32(field: "metadata")
        return LedgerEvent(
            id: id, timestamp: timestamp, eventType: eventType, entityType: entityType, entityID: entityID,
            metadata: metadata, severity: severity, workerID: workerID, jobID: jobID, clipID: clipID
        )
    }
}
