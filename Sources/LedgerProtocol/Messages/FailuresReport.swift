import NIOCore

/// `failures_report` (0x95): per group, how many there were and how many failed.
public struct FailuresReport: Sendable, Hashable {
    public struct Row: Sendable, Hashable {
        /// Nil for jobs of unknown type, or finished by no named worker.
        public var key: String?
        public var total: UInt64
        public var failed: UInt64

        public init(key: String?, total: UInt64, failed: UInt64) {
            self.key = key
            self.total = total
            self.failed = failed
        }

        /// failed / total, 0 when there were none.
        public var rate: Double { self.total == 0 ? 0 : Double(self.failed) / Double(self.total) }
    }

    public static let mostRows = 1_000

    public var grouping: FailuresReportRequest.Grouping
    /// Most failed first, then most total, then by key (nil last).
    public var rows: [Row]
    public var truncated: Bool

    public init(grouping: FailuresReportRequest.Grouping, rows: [Row], truncated: Bool = false) {
        self.grouping = grouping
        self.rows = rows
        self.truncated = truncated
    }

    public func encode(into buffer: inout ByteBuffer) {
        buffer.writeInteger(self.grouping.rawValue)
        buffer.writeInteger(UInt16(self.rows.count))
        for row in self.rows {
            buffer.ledgerWriteOptional(row.key) { $0.ledgerWriteString16($1) }
            buffer.writeInteger(row.total)
            buffer.writeInteger(row.failed)
        }
        buffer.writeInteger(UInt8(self.truncated ? 1 : 0))
    }

    public static func decode(from buffer: inout ByteBuffer) throws(LedgerProtocolError) -> FailuresReport {
        let raw = try buffer.ledgerReadInteger(as: UInt8.self, field: "by")
        guard let grouping = FailuresReportRequest.Grouping(rawValue: raw) else { throw .malformed("by is \(raw), expected 0, 1 or 2") }
        var rows: [Row] = []
        for _ in 0..<(try buffer.ledgerReadInteger(as: UInt16.self, field: "row count")) {
            let key = try buffer.ledgerReadOptional(field: "key") { (b: inout ByteBuffer) throws(LedgerProtocolError) in try b.ledgerReadString16(field: "key") }
            let total = try buffer.ledgerReadInteger(as: UInt64.self, field: "total")
            let failed = try buffer.ledgerReadInteger(as: UInt64.self, field: "failed")
            rows.append(Row(key: key, total: total, failed: failed))
        }
        let truncated = try buffer.ledgerReadInteger(as: UInt8.self, field: "truncated")
        guard truncated <= 1 else { throw .malformed("truncated is \(truncated), expected 0 or 1") }
        try buffer.ledgerExpectEnd(of: "failures_report")
        return FailuresReport(grouping: grouping, rows: rows, truncated: truncated == 1)
    }
}
