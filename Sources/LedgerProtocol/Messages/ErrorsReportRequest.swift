import NIOCore

/// `report_errors` (0x16): WARN and ERROR events per event type and severity in fixed buckets of
/// the window, so a spike stands out against the window's usual rate.
public struct ErrorsReportRequest: Sendable, Hashable {
    /// More buckets than this is a report nobody reads; a larger bucket or a shorter window is asked for.
    public static let mostBuckets = 10_000

    /// Bucket 0 starts here.
    public var since: LedgerTimestamp
    public var until: LedgerTimestamp
    public var bucketSeconds: UInt32

    public init(since: LedgerTimestamp, until: LedgerTimestamp, bucketSeconds: UInt32 = 3_600) {
        self.since = since
        self.until = until
        self.bucketSeconds = bucketSeconds
    }

    public var bucketMicros: Int64 { Int64(self.bucketSeconds) * 1_000_000 }

    /// Buckets needed to cover the window, the last one possibly cut short by `until`.
    public var bucketCount: Int {
        let span = self.until.rawValue - self.since.rawValue
        return Int((span + self.bucketMicros - 1) / max(self.bucketMicros, 1))
    }

    public func validate() throws(LedgerProtocolError) {
        try ReportWindow(since: self.since, until: self.until).validate()
        guard self.until > self.since else { throw .invalidQuery("until (\(self.until)) is not after since (\(self.since))") }
        guard self.bucketSeconds >= 1 else { throw .invalidQuery("bucket_seconds is 0; give 1 or more") }
        guard self.bucketCount <= Self.mostBuckets else {
            throw .invalidQuery("the window holds \(self.bucketCount) buckets of \(self.bucketSeconds) s, over \(Self.mostBuckets); give a larger bucket or a shorter window")
        }
    }

    public func encode(into buffer: inout ByteBuffer) {
        buffer.ledgerWriteTimestamp(self.since)
        buffer.ledgerWriteTimestamp(self.until)
        buffer.writeInteger(self.bucketSeconds)
    }

    public static func decode(from buffer: inout ByteBuffer) throws(LedgerProtocolError) -> ErrorsReportRequest {
        let since = try buffer.ledgerReadTimestamp(field: "since")
        let until = try buffer.ledgerReadTimestamp(field: "until")
        let bucket = try buffer.ledgerReadInteger(as: UInt32.self, field: "bucket_seconds")
        try buffer.ledgerExpectEnd(of: "report_errors")
        return ErrorsReportRequest(since: since, until: until, bucketSeconds: bucket)
    }
}
