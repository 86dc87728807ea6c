import NIOCore

/// The time window a report covers: `since` inclusive, `until` exclusive, either open.
public struct ReportWindow: Sendable, Hashable {
    public var since: LedgerTimestamp?
    public var until: LedgerTimestamp?

    public init(since: LedgerTimestamp? = nil, until: LedgerTimestamp? = nil) {
        self.since = since
        self.until = until
    }

    public func validate() throws(LedgerProtocolError) {
        try EventFilter(since: self.since, until: self.until).validate()
    }

    /// Whether a time falls inside the window.
    public func contains(_ timestamp: LedgerTimestamp) -> Bool {
        (self.since.map { timestamp >= $0 } ?? true) && (self.until.map { timestamp < $0 } ?? true)
    }

    func encode(into buffer: inout ByteBuffer) {
        buffer.ledgerWriteOptional(self.since) { $0.ledgerWriteTimestamp($1) }
        buffer.ledgerWriteOptional(self.until) { $0.ledgerWriteTimestamp($1) }
    }

    static func decode(from buffer: inout ByteBuffer) throws(LedgerProtocolError) -> ReportWindow {
        let since = try buffer.ledgerReadOptional(field: "since") { (b: inout ByteBuffer) throws(LedgerProtocolError) in
            try b.ledgerReadTimestamp(field: "since")
        }
        let until = try buffer.ledgerReadOptional(field: "until") { (b: inout ByteBuffer) throws(LedgerProtocolError) in
            try b.ledgerReadTimestamp(field: "until")
        }
        return ReportWindow(since: since, until: until)
    }
}

/// The event types of a job's life, as the seed's worker logs them.
public enum JobLifecycle {
    public static let created = "job_created"
    public static let started = "job_processing_started"
    public static let completed = "job_processing_completed"
    public static let failed = "job_processing_failed"
    /// The metadata key of `job_created` (or, failing that, `job_processing_started`) naming the job's type.
    public static let jobTypeKey = "job_type"
}
