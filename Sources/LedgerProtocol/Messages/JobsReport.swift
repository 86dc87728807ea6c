import Foundation
import NIOCore

/// `jobs_report` (0x94): the answer to `report_jobs`.
///
/// A job counts as started when its first `job_processing_started` in the window is; as completed or
/// failed by its last finishing event (`job_processing_completed` or `_failed`) in the window; as
/// running when it started in the window and has not finished since. Its duration runs from its
/// first start to that finishing event. Percentiles are nearest-rank: the p-th is the value at
/// rank ceil(p × n / 100) of the n durations in order.
public struct JobsReport: Sendable, Hashable {
    public struct Row: Sendable, Hashable {
        /// Nil for jobs whose type the ledger does not know.
        public var jobType: String?
        public var started: UInt64
        public var completed: UInt64
        public var failed: UInt64
        public var running: UInt64
        /// Durations in microseconds; nil when no job of the type finished with a known start.
        public var p50: Int64?
        public var p95: Int64?
        public var max: Int64?

        public init(
            jobType: String?, started: UInt64, completed: UInt64, failed: UInt64, running: UInt64, p50: Int64?, p95: Int64?, max: Int64?
        ) {
            self.jobType = jobType
            self.started = started
            self.completed = completed
            self.failed = failed
            self.running = running
            self.p50 = p50
            self.p95 = p95
            self.max = max
        }
    }

    public struct SlowJob: Sendable, Hashable {
        public var jobID: UUID
        public var jobType: String?
        public var failed: Bool
        public var durationMicros: Int64
        public var startedAt: LedgerTimestamp

        public init(jobID: UUID, jobType: String?, failed: Bool, durationMicros: Int64, startedAt: LedgerTimestamp) {
            self.jobID = jobID
            self.jobType = jobType
            self.failed = failed
            self.durationMicros = durationMicros
            self.startedAt = startedAt
        }
    }

    /// At most this many job types; the rest are cut, and `truncated` says so.
    public static let mostRows = 1_000

    /// By job type, unknown last.
    public var rows: [Row]
    /// Slowest first, ties by job id.
    public var slowest: [SlowJob]
    public var truncated: Bool

    public init(rows: [Row], slowest: [SlowJob], truncated: Bool = false) {
        self.rows = rows
        self.slowest = slowest
        self.truncated = truncated
    }

    public func encode(into buffer: inout ByteBuffer) {
        buffer.writeInteger(UInt16(self.rows.count))
        for row in self.rows {
            buffer.ledgerWriteOptional(row.jobType) { $0.ledgerWriteString16($1) }
            for count in [row.started, row.completed, row.failed, row.running] { buffer.writeInteger(count) }
            for duration in [row.p50, row.p95, row.max] { buffer.ledgerWriteOptional(duration) { $0.writeInteger($1) } }
        }
        buffer.writeInteger(UInt16(self.slowest.count))
        for job in self.slowest {
            buffer.ledgerWriteUUID(job.jobID)
            buffer.ledgerWriteOptional(job.jobType) { $0.ledgerWriteString16($1) }
            buffer.writeInteger(UInt8(job.failed ? 1 : 0))
            buffer.writeInteger(job.durationMicros)
            buffer.ledgerWriteTimestamp(job.startedAt)
        }
        buffer.writeInteger(UInt8(self.truncated ? 1 : 0))
    }

    public static func decode(from buffer: inout ByteBuffer) throws(LedgerProtocolError) -> JobsReport {
        func jobType() throws(LedgerProtocolError) -> String? {
            try buffer.ledgerReadOptional(field: "job_type") { (b: inout ByteBuffer) throws(LedgerProtocolError) in try b.ledgerReadString16(field: "job_type") }
        }
        func duration(_ field: String) throws(LedgerProtocolError) -> Int64? {
            try buffer.ledgerReadOptional(field: field) { (b: inout ByteBuffer) throws(LedgerProtocolError) in try b.ledgerReadInteger(as: Int64.self, field: field) }
        }
        var rows: [Row] = []
        for _ in 0..<(try buffer.ledgerReadInteger(as: UInt16.self, field: "row count")) {
            let type = try jobType()
            let started = try buffer.ledgerReadInteger(as: UInt64.self, field: "started")
            let completed = try buffer.ledgerReadInteger(as: UInt64.self, field: "completed")
            let failed = try buffer.ledgerReadInteger(as: UInt64.self, field: "failed")
            let running = try buffer.ledgerReadInteger(as: UInt64.self, field: "running")
            rows.append(
                Row(jobType: type, started: started, completed: completed, failed: failed, running: running,
                    p50: try duration("p50"), p95: try duration("p95"), max: try duration("max")))
        }
        var slowest: [SlowJob] = []
        for _ in 0..<(try buffer.ledgerReadInteger(as: UInt16.self, field: "slowest count")) {
            let id = try buffer.ledgerReadUUID()
            let type = try jobType()
            let outcome = try buffer.ledgerReadInteger(as: UInt8.self, field: "outcome")
            guard outcome <= 1 else { throw .malformed("outcome is \(outcome), expected 0 (completed) or 1 (failed)") }
            let duration = try buffer.ledgerReadInteger(as: Int64.self, field: "duration")
            let started = try buffer.ledgerReadTimestamp(field: "started")
            slowest.append(SlowJob(jobID: id, jobType: type, failed: outcome == 1, durationMicros: duration, startedAt: started))
        }
        let truncated = try buffer.ledgerReadInteger(as: UInt8.self, field: "truncated")
        guard truncated <= 1 else { throw .malformed("truncated is \(truncated), expected 0 or 1") }
        try buffer.ledgerExpectEnd(of: "jobs_report")
        return JobsReport(rows: rows, slowest: slowest, truncated: truncated == 1)
    }
}
