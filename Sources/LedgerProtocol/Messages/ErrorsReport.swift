import Foundation
import NIOCore

/// `errors_report` (0x96): the non-zero counts of WARN and ERROR events per bucket, event type and
/// severity; a bucket absent from `rows` had none.
public struct ErrorsReport: Sendable, Hashable {
    public struct Row: Sendable, Hashable {
        /// Which bucket: it starts at `since + bucket × bucket_seconds`.
        public var bucket: UInt32
        public var eventType: String
        public var severity: Severity
        public var count: UInt64

        public init(bucket: UInt32, eventType: String, severity: Severity, count: UInt64) {
            self.bucket = bucket
            self.eventType = eventType
            self.severity = severity
            self.count = count
        }
    }

    /// More rows than this are cut, and `truncated` says so.
    public static let mostRows = 50_000

    public var since: LedgerTimestamp
    public var bucketSeconds: UInt32
    public var bucketCount: UInt32
    /// By bucket, then event type, then severity.
    public var rows: [Row]
    public var truncated: Bool

    public init(since: LedgerTimestamp, bucketSeconds: UInt32, bucketCount: UInt32, rows: [Row], truncated: Bool = false) {
        self.since = since
        self.bucketSeconds = bucketSeconds
        self.bucketCount = bucketCount
        self.rows = rows
        self.truncated = truncated
    }

    public func bucketStart(_ bucket: UInt32) -> LedgerTimestamp {
        LedgerTimestamp(rawValue: self.since.rawValue + Int64(bucket) * Int64(self.bucketSeconds) * 1_000_000)
    }

    /// One event type and severity across every bucket of the window, empty buckets as zero.
    public struct Series: Sendable, Hashable {
        public var eventType: String
        public var severity: Severity
        public var counts: [UInt64]
        public var mean: Double
        public var standardDeviation: Double

        /// How many standard deviations a bucket lies above the mean (0 for a flat series).
        public func deviation(_ bucket: Int) -> Double {
            guard self.standardDeviation > 0 else { return 0 }
            return (Double(self.counts[bucket]) - self.mean) / self.standardDeviation
        }

        /// A spike: at least three events and two standard deviations above the window's mean, so a
        /// lone error in a quiet week is not called one.
        public func isSpike(_ bucket: Int) -> Bool {
            self.counts[bucket] >= 3 && self.deviation(bucket) >= 2
        }
    }

    /// The rows as series, ERROR before WARN, then by event type: what an operator reads for spikes.
    public var series: [Series] {
        var counts: [String: [UInt64]] = [:]
        var keys: [String: (String, Severity)] = [:]
        for row in self.rows where row.bucket < self.bucketCount {
            let key = "\(row.severity.rawValue)\u{0}\(row.eventType)"
            keys[key] = (row.eventType, row.severity)
            counts[key, default: Array(repeating: 0, count: Int(self.bucketCount))][Int(row.bucket)] += row.count
        }
        return keys.map { key, value in
            let values = counts[key] ?? []
            let mean = values.isEmpty ? 0 : Double(values.reduce(0, +)) / Double(values.count)
            let variance = values.isEmpty ? 0 : values.reduce(0) { $0 + (Double($1) - mean) * (Double($1) - mean) } / Double(values.count)
            return Series(eventType: value.0, severity: value.1, counts: values, mean: mean, standardDeviation: variance.squareRoot())
        }.sorted { lhs, rhs in
            lhs.severity != rhs.severity ? lhs.severity.rawValue > rhs.severity.rawValue : lhs.eventType < rhs.eventType
        }
    }

    public func encode(into buffer: inout ByteBuffer) {
        buffer.ledgerWriteTimestamp(self.since)
        buffer.writeInteger(self.bucketSeconds)
        buffer.writeInteger(self.bucketCount)
        buffer.writeInteger(UInt32(self.rows.count))
        for row in self.rows {
            buffer.writeInteger(row.bucket)
            buffer.ledgerWriteString16(row.eventType)
            buffer.writeInteger(row.severity.rawValue)
            buffer.writeInteger(row.count)
        }
        buffer.writeInteger(UInt8(self.truncated ? 1 : 0))
    }

    public static func decode(from buffer: inout ByteBuffer) throws(LedgerProtocolError) -> ErrorsReport {
        let since = try buffer.ledgerReadTimestamp(field: "since")
        let bucketSeconds = try buffer.ledgerReadInteger(as: UInt32.self, field: "bucket_seconds")
        let bucketCount = try buffer.ledgerReadInteger(as: UInt32.self, field: "bucket_count")
        let count = try buffer.ledgerReadInteger(as: UInt32.self, field: "row count")
        guard count <= Self.mostRows else { throw .malformed("row count \(count) is over \(Self.mostRows)") }
        var rows: [Row] = []
        for _ in 0..<count {
            let bucket = try buffer.ledgerReadInteger(as: UInt32.self, field: "bucket")
            let eventType = try buffer.ledgerReadString16(field: "event_type")
            let severity = try buffer.ledgerReadSeverity()
            let events = try buffer.ledgerReadInteger(as: UInt64.self, field: "count")
            rows.append(Row(bucket: bucket, eventType: eventType, severity: severity, count: events))
        }
        let truncated = try buffer.ledgerReadInteger(as: UInt8.self, field: "truncated")
        guard truncated <= 1 else { throw .malformed("truncated is \(truncated), expected 0 or 1") }
        try buffer.ledgerExpectEnd(of: "errors_report")
        return ErrorsReport(since: since, bucketSeconds: bucketSeconds, bucketCount: bucketCount, rows: rows, truncated: truncated == 1)
    }
}
