import NIOCore

/// `timeline` (0x17): an entity's whole story, oldest first, answered with `events` pages.
///
/// Beside the entity's own events it holds the jobs linked to it and theirs: for a job, every event
/// naming the job (its clips' included); for a clip, every event naming the clip; for any other
/// entity, the jobs whose `job_created` metadata names it (`"video_id": ID` for a `video_asset`,
/// as the seed's job service logs it; `"<entity_type>_id": ID` for others), with every event of
/// those jobs and of their clips.
public struct TimelineRequest: Sendable, Hashable {
    public var entityType: String
    public var entityID: String
    public var limit: UInt32
    public var after: EventCursor?

    public init(entityType: String, entityID: String, limit: UInt32 = 1_000, after: EventCursor? = nil) {
        self.entityType = entityType
        self.entityID = entityID
        self.limit = limit
        self.after = after
    }

    /// The metadata key of `job_created` that links a job to an entity of this type; nil when the
    /// type is not a plain identifier (letters, digits, `_`), which then links no jobs.
    public static func linkKey(entityType: String) -> String? {
        let key = entityType == "video_asset" ? "video_id" : "\(entityType)_id"
        guard key.utf8.count <= 64, key.utf8.allSatisfy({ $0 == UInt8(ascii: "_") || (0x30...0x39).contains($0) || (0x41...0x5A).contains($0) || (0x61...0x7A).contains($0) })
        else { return nil }
        return key
    }

    public func validate(maximumLimit: UInt32) throws(LedgerProtocolError) {
        guard !self.entityType.isEmpty, !self.entityID.isEmpty else { throw .invalidQuery("a timeline needs an entity type and id") }
        if let problem = self.after?.timestamp.rangeProblem(field: "the cursor's timestamp") { throw .invalidQuery(problem) }
        guard self.limit >= 1, self.limit <= maximumLimit else {
            throw .invalidQuery("limit \(self.limit) is outside 1...\(maximumLimit)")
        }
    }

    public func encode(into buffer: inout ByteBuffer) {
        buffer.ledgerWriteString16(self.entityType)
        buffer.ledgerWriteString16(self.entityID)
        buffer.writeInteger(self.limit)
        buffer.ledgerWriteOptional(self.after) { $1.encode(into: &$0) }
    }

    public static func decode(from buffer: inout ByteBuffer) throws(LedgerProtocolError) -> TimelineRequest {
        func string(_ field: String) throws(LedgerProtocolError) -> String {
            do {
                return try buffer.ledgerReadString16(field: field)
            } catch where error.code == .invalidEvent {
                throw .invalidQuery(error.message)
            }
        }
        let entityType = try string("entity_type")
        let entityID = try string("entity_id")
        let limit = try buffer.ledgerReadInteger(as: UInt32.self, field: "limit")
        let after = try buffer.ledgerReadOptional(field: "cursor") { (b: inout ByteBuffer) throws(LedgerProtocolError) in
            try EventCursor.decode(from: &b)
        }
        try buffer.ledgerExpectEnd(of: "timeline")
        return TimelineRequest(entityType: entityType, entityID: entityID, limit: limit, after: after)
    }
}
